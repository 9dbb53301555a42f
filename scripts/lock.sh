#!/usr/bin/env bash
# Regenerates requirements.lock: every dependency of pyproject.toml (with the dev extra), pinned
# to one version with the sha256 of each of its files, for CPython 3.11 on Linux x86_64 (our
# machines, CI and the Dockerfile). scripts/bootstrap.sh installs from it.
#   bash scripts/lock.sh             after changing pyproject.toml's dependencies (keeps the
#                                    other pins as they are)
#   bash scripts/lock.sh --upgrade   move every pin to the newest version allowed
#   bash scripts/lock.sh --upgrade-package NAME   only that one
# Then run `bash scripts/ci-audit.sh` (known vulnerabilities) and commit requirements.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
tools="${LMS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lms-tools}/uv-$UV_VERSION"
if [ ! -x "$tools/bin/uv" ]; then
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install -q "uv==$UV_VERSION"
fi
"$tools/bin/uv" pip compile pyproject.toml --extra dev --generate-hashes \
  --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --custom-compile-command "bash scripts/lock.sh" --quiet \
  --output-file "${LOCK_OUTPUT:-requirements.lock}" "$@"
