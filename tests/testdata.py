"""Third-party files the tests read (GIFT, Aiken, SCORM packages made by others), vendored in
tests/data/third_party/ with their origins in SOURCES.md and their licences in NOTICE.md, so a
fresh clone passes its tests with nothing beside it."""

from __future__ import annotations

from pathlib import Path

THIRD_PARTY = Path(__file__).resolve().parent / "data" / "third_party"
