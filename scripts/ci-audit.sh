#!/usr/bin/env bash
# CI: known vulnerabilities in the locked dependencies, and a lock that still matches pyproject.
#  1. requirements.lock must be what `bash scripts/lock.sh` makes from pyproject.toml now (the same
#     pins kept): else "out of date, run bash scripts/lock.sh".
#  2. pip-audit (PyPA; PyPI's advisory data, i.e. the OSV/PYSEC/GHSA entries PyPI shows) audits
#     every pinned version in requirements.lock. Where PyPI's per-release JSON is not served (a
#     mirror), each package's advisories are read from its project JSON instead, which describes
#     its newest release: exact whenever the pin is the newest version (uv pins the newest
#     allowed); older pins are listed as not audited.
# Fails on any known vulnerability not in AUDIT_IGNORE below. Tools live in a throwaway venv
# outside the repository (~/.cache/lms-tools), pinned.
set -euo pipefail
cd "$(dirname "$0")/.."
PIP_AUDIT_VERSION=2.10.1
# Advisories accepted on purpose, one "ID  # package: why (no fixed version / not reachable)".
AUDIT_IGNORE=(
)
tools="${LMS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lms-tools}/pip-audit-$PIP_AUDIT_VERSION"
if [ ! -x "$tools/bin/pip-audit" ]; then
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install -q "pip-audit==$PIP_AUDIT_VERSION"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== requirements.lock matches pyproject.toml =="
cp requirements.lock "$tmp/fresh.lock"
LOCK_OUTPUT="$tmp/fresh.lock" bash scripts/lock.sh
if ! diff -u <(grep -v '^#' requirements.lock) <(grep -v '^#' "$tmp/fresh.lock") >"$tmp/lock.diff"; then
  head -40 "$tmp/lock.diff"
  echo "requirements.lock is out of date with pyproject.toml: run bash scripts/lock.sh" >&2
  exit 1
fi
echo "ok ($(grep -c '==' requirements.lock) pinned packages)"

echo "== pip-audit requirements.lock =="
ignore_args=()
for entry in "${AUDIT_IGNORE[@]+"${AUDIT_IGNORE[@]}"}"; do
  ignore_args+=(--ignore-vuln "${entry%% *}")
done
set +e
"$tools/bin/pip-audit" --requirement requirements.lock --require-hashes --disable-pip \
  --progress-spinner off --format json --output "$tmp/audit.json" \
  "${ignore_args[@]+"${ignore_args[@]}"}" 2>"$tmp/audit.err"
status=$?
set -e
if [ ! -s "$tmp/audit.json" ]; then
  cat "$tmp/audit.err" >&2
  echo "pip-audit failed (exit $status)" >&2
  exit 1
fi
IGNORED="${AUDIT_IGNORE[*]+"${AUDIT_IGNORE[*]}"}" "$tools/bin/python" - "$tmp/audit.json" <<'PY'
"""Report pip-audit's findings; audit the packages it skipped from PyPI's project JSON."""
import json
import re
import sys
import os
import urllib.request
from concurrent.futures import ThreadPoolExecutor

report = json.load(open(sys.argv[1]))
ignored = set(re.findall(r"\S+", os.environ.get("IGNORED", "")))
pins = {}
for line in open("requirements.lock"):
    m = re.match(r"^([A-Za-z0-9._-]+)==([^ \\;]+)", line)
    if m:
        pins[m.group(1).lower().replace("_", "-")] = m.group(2)

findings = []  # (package, version, id, fixed versions)
skipped = []
for dep in report["dependencies"]:
    if "skip_reason" in dep:
        skipped.append(dep["name"])
        continue
    for vuln in dep.get("vulns", []):
        if vuln["id"] not in ignored:
            findings.append((dep["name"], dep["version"], vuln["id"], vuln.get("fix_versions", [])))


def project_json(name):
    url = f"https://pypi.org/pypi/{name}/json"
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - fixed https URL
        return name, json.load(answer)


not_audited = []
if skipped:
    with ThreadPoolExecutor(8) as pool:
        for name, data in pool.map(project_json, skipped):
            pinned = pins.get(name.lower().replace("_", "-"))
            newest = data["info"]["version"]
            if pinned != newest:
                not_audited.append(f"{name}=={pinned} (newest {newest})")
                continue
            for vuln in data.get("vulnerabilities") or []:
                ids = {vuln["id"], *(vuln.get("aliases") or [])}
                if vuln.get("withdrawn") or ids & ignored:
                    continue
                findings.append((name, pinned, vuln["id"], vuln.get("fixed_in") or []))

audited = len(report["dependencies"]) - len(not_audited)
print(f"audited {audited} of {len(report['dependencies'])} locked packages"
      + (f" ({len(skipped)} through PyPI's project JSON)" if skipped else ""))
if not_audited:
    print("not audited (pinned below the newest release; move them with "
          "`bash scripts/lock.sh --upgrade-package NAME` or audit by hand):")
    for item in not_audited:
        print(f"  {item}")
if ignored:
    print(f"ignored on purpose: {' '.join(sorted(ignored))} (see AUDIT_IGNORE)")
if findings:
    print(f"{len(findings)} known vulnerabilit{'y' if len(findings) == 1 else 'ies'}:")
    for name, version, vid, fixed in findings:
        fix = f"fixed in {', '.join(fixed)}" if fixed else "no fixed version yet"
        print(f"  {name}=={version}: {vid} ({fix})")
    print("upgrade: bash scripts/lock.sh --upgrade-package NAME; or, with no fix, add the id "
          "with its reason to AUDIT_IGNORE in scripts/ci-audit.sh")
    sys.exit(1)
print("no known vulnerabilities")
PY
