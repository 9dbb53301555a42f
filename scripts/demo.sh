#!/usr/bin/env bash
# Quick start: install into .venv, migrate the SQLite database under ./var, load the demo OPDs and
# accounts, and serve the LMS at http://127.0.0.1:8000 (set HOST/PORT to change).
source "$(dirname "$0")/bootstrap.sh"
exec .venv/bin/lms demo --serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
