# Sourced by demo.sh and test.sh: make .venv with the project installed (again only when
# pyproject.toml changed). On a fresh Debian machine as root it also installs python3-venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv >/dev/null 2>&1; then
    rm -rf .venv
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip
    "$PYTHON" -m venv .venv
  fi
fi
# Dependencies come from requirements.lock (exact versions, sha256-checked; `bash scripts/lock.sh`
# remakes it from pyproject.toml), then the project itself without resolving anything.
stamp=".venv/.installed-$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Installing the LMS and its locked dependencies into .venv ..."
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q --require-hashes -r requirements.lock
  .venv/bin/python -m pip install -q --no-deps -e .
  if ! .venv/bin/python -m pip check >/dev/null; then
    # pyproject.toml names something the lock lacks: say so, and install it anyway.
    echo "WARNING: requirements.lock is out of date with pyproject.toml: run bash scripts/lock.sh" >&2
    .venv/bin/python -m pip install -q -e '.[dev]'
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi
