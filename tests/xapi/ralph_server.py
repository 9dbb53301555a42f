"""Runs Ralph's LRS API (what `ralph runserver -b fs` runs) in this process with uvicorn, without
its auto-reload. Executed by .venv-ralph's python (tests/xapi/ralph.py), never imported by the
suite. Configuration from the environment: RALPH_RUNSERVER_BACKEND=fs, RALPH_APP_DIR (auth.json
made with `ralph auth ... -w`), RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH.

Two defects of Ralph 5.1.0's file-system LRS backend are corrected here, as Ralph's own
Elasticsearch/Mongo backends behave: (1) it writes every POST in "create" mode, so the second
POST fails with "fs_lrs.jsonl already exists" (500) — statements are appended instead; (2) the
GET `verb` filter compares an IRI object with a string and never matches — compared as text.

Usage: python ralph_server.py HOST PORT
"""

from __future__ import annotations

import sys

import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend


def _patch() -> None:
    FSLRSBackend.default_operation_type = BaseOperationType.APPEND

    def _add_filter_by_verb(filters: list, verb_id: object) -> None:
        if verb_id:
            wanted = str(verb_id)
            filters.append(lambda statement: statement.get("verb", {}).get("id") == wanted)

    FSLRSBackend._add_filter_by_verb = staticmethod(_add_filter_by_verb)


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    _patch()
    from ralph.api import app

    uvicorn.run(app, host=host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
