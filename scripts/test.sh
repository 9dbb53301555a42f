#!/usr/bin/env bash
# Runs the whole test suite (SQLite by default; set LMS_TEST_DATABASE_URL for PostgreSQL).
# Browser tests need Debian's chromium, certificate tests poppler-utils: installed with apt when missing. Extra args go to pytest.
source "$(dirname "$0")/bootstrap.sh"
# chromium drives the browser tests; poppler-utils (pdfsig, pdftoppm, pdftotext) checks certificates.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/pdfsig ]; then
  echo "Installing Debian's chromium and poppler-utils for the browser and certificate tests ..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils
fi
exec .venv/bin/pytest "$@"
