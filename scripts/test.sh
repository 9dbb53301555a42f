#!/usr/bin/env bash
# Runs the whole test suite (SQLite by default; set LMS_TEST_DATABASE_URL for PostgreSQL).
# Browser tests need Debian's chromium, certificate tests poppler-utils, SSO tests node (npm ci in tests/oidc): installed when missing. Extra args go to pytest.
source "$(dirname "$0")/bootstrap.sh"
# chromium drives the browser tests; poppler-utils (pdfsig, pdftoppm, pdftotext) and libnss3-tools
# (certutil, a trust store for pdfsig) check certificates.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/pdfsig ] || [ ! -x /usr/bin/certutil ]; then
  echo "Installing Debian's chromium and poppler-utils for the browser and certificate tests ..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils libnss3-tools
fi
# The single sign-on tests run a real OpenID Connect provider (npm's oidc-provider, pinned by
# tests/oidc/package-lock.json) in node.
if [ ! -d tests/oidc/node_modules ]; then
  if ! command -v npm >/dev/null; then
    echo "Installing Debian's nodejs and npm for the single sign-on tests ..."
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
  fi
  echo "Installing the OpenID Connect test provider (npm ci in tests/oidc) ..."
  (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error)
fi
# The xAPI tests run a real learning record store, Ralph, from its own venv (.venv-ralph).
if [ ! -x .venv-ralph/bin/ralph ]; then
  bash scripts/ralph.sh
fi
exec .venv/bin/pytest "$@"
