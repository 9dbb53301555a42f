"""The vendored third-party test files are exactly the ones SOURCES.md describes (size and sha256
prefix per file, no file without a row), each folder's licence notice is present, and none of it
can end up in the built package."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

from tests.testdata import THIRD_PARTY

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^\| `([^`]+)` \| (\d+) \| `([0-9a-f]{16})`", re.MULTILINE)
PAPERWORK = {"SOURCES.md", "NOTICE.md"}


def _rows() -> dict[str, tuple[int, str]]:
    text = (THIRD_PARTY / "SOURCES.md").read_text(encoding="utf-8")
    return {m[1]: (int(m[2]), m[3]) for m in ROW.finditer(text)}


def test_every_file_matches_its_sources_row() -> None:
    rows = _rows()
    assert len(rows) >= 60
    for name, (size, sha_prefix) in rows.items():
        data = (THIRD_PARTY / name).read_bytes()
        assert len(data) == size, name
        assert hashlib.sha256(data).hexdigest()[:16] == sha_prefix, name


def test_no_file_without_a_row() -> None:
    rows = _rows()
    on_disk = {
        p.relative_to(THIRD_PARTY).as_posix()
        for p in THIRD_PARTY.rglob("*")
        if p.is_file() and p.parent.name != "LICENSES" and p.name not in PAPERWORK
    }
    assert on_disk == set(rows)


def test_licence_notices_are_vendored() -> None:
    licences = THIRD_PARTY / "LICENSES"
    assert "GNU GENERAL PUBLIC LICENSE" in (licences / "GPL-3.0.txt").read_text()
    golf = (licences / "CC-BY-3.0-Rustici-Golf-Examples.txt").read_text()
    assert "Golf Examples provided by Rustici Software - http://www.scorm.com" in golf
    assert "Christopher P. Fuhrman" in (licences / "MIT-GIFT-grammar-PEG.js.txt").read_text()
    notice = (THIRD_PARTY / "NOTICE.md").read_text()
    for folder in ("gift/moodle/", "scorm12/", "gift/fuhrmanator-GIFT-grammar-PEG.js/"):
        assert folder in notice


def test_kept_out_of_the_built_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert include == ["app*"]
    assert "tests" not in (ROOT / "Dockerfile").read_text().replace("# ", "")
