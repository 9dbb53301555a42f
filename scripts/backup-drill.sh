#!/usr/bin/env bash
# Restore drill with the real `lms` command (helper "backup"): load the demo into a throw-away
# SQLite installation, back it up (objects copied into the backup, as a .tar), verify it, restore
# it into a fresh database and folder, check the restored system with `lms backup verify` and a
# second backup whose manifest must list the same tables, rows and objects. Then prove that
# verify catches a damaged dump. The unit and production tests run in the main CI steps.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/lms-backup-drill.XXXXXX)
trap 'rm -rf "$work"' EXIT
export LMS_ENVIRONMENT=development LMS_LOG_LEVEL=WARNING LMS_JOBS_URL=immediate \
  LMS_JOBS_IN_PROCESS_WORKER=false LMS_OUTBOX_KICK=false LMS_KEYS_DIR="$work/keys"
lms() { .venv/bin/python -m app.cli "$@"; }

echo "== backup drill: demo installation =="
LMS_DATABASE_URL="sqlite:///$work/src/lms.db" LMS_STORAGE_URL="file://$work/src/objects" \
  lms demo >/dev/null
echo "== backup drill: create (.tar with objects) and verify =="
LMS_DATABASE_URL="sqlite:///$work/src/lms.db" LMS_STORAGE_URL="file://$work/src/objects" \
  lms backup create -o "$work/nightly.tar" --objects-to backup
lms backup verify "$work/nightly.tar"
echo "== backup drill: restore into a fresh database and folder =="
SECONDS=0
lms backup restore "$work/nightly.tar" --database-url "sqlite:///$work/dst/lms.db" \
  --storage-url "file://$work/dst/objects"
echo "restore took ${SECONDS}s"
echo "== backup drill: the restored installation backs up to the same manifest =="
LMS_DATABASE_URL="sqlite:///$work/dst/lms.db" LMS_STORAGE_URL="file://$work/dst/objects" \
  lms backup create -o "$work/after"
mkdir "$work/before" && tar -xf "$work/nightly.tar" -C "$work/before"
.venv/bin/python - "$work/before/nightly/manifest.json" "$work/after/manifest.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["tables"] == b["tables"], "row counts differ after restore"
items = lambda m: sorted((o["key"], o["sha256"]) for o in m["objects"]["items"])
assert items(a) == items(b), "objects differ after restore"
print(f"same {len(a['tables'])} tables, {sum(a['tables'].values())} rows, "
      f"{len(a['objects']['items'])} objects")
PY
echo "== backup drill: verify catches a damaged dump =="
printf 'x' | dd of="$work/after/database.sqlite3" bs=1 seek=5000 conv=notrunc status=none
if lms backup verify "$work/after"; then echo "verify missed a damaged dump" >&2; exit 1; fi
echo "backup drill passed"
