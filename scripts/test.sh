#!/usr/bin/env bash
# Runs the whole test suite (SQLite by default; set LMS_TEST_DATABASE_URL for PostgreSQL).
# Browser tests need Debian's chromium: installed here with apt when missing. Extra args go to pytest.
source "$(dirname "$0")/bootstrap.sh"
if [ ! -x /usr/bin/chromium ]; then
  echo "Installing Debian's chromium for the browser tests ..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
exec .venv/bin/pytest "$@"
