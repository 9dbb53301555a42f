#!/usr/bin/env bash
# Installs Ralph (the open-source xAPI learning record store, `ralph-malph` on PyPI) and requests
# into their own venv, .venv-ralph (pinned: tests/xapi/ralph-requirements.txt), never into .venv:
# Ralph pins FastAPI/pydantic versions of its own. tests/xapi and bench/xapi_deliver.py start it
# on 127.0.0.1 with the file-system backend. Called by scripts/test.sh when the venv is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
RALPH_VENV=${RALPH_VENV:-.venv-ralph}
REQUIREMENTS=tests/xapi/ralph-requirements.txt
stamp="$RALPH_VENV/.installed-$(sha256sum "$REQUIREMENTS" | cut -c1-16)"
if [ -f "$stamp" ] && [ -x "$RALPH_VENV/bin/ralph" ]; then
  exit 0
fi
echo "Installing Ralph (xAPI LRS for the tests) into $RALPH_VENV ..."
rm -rf "$RALPH_VENV"
"$PYTHON" -m venv "$RALPH_VENV"
"$RALPH_VENV/bin/python" -m pip install -q --upgrade pip
"$RALPH_VENV/bin/python" -m pip install -q -r "$REQUIREMENTS"
touch "$stamp"
