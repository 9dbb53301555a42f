"""Zips a `*.scorm/` package folder into a SCORM 1.2 .zip, for another LMS or a manual upload.

Run from the repository root:
    .venv/bin/python content/tools/zip_scorm.py PATH/TO/NAME.scorm [OUT.zip]
The bytes are the same the importer makes in memory (sorted names, fixed dates), and the result
goes through the app's own SCORM checks before it is written. Licence: Apache-2.0.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from app.core.config import get_settings
from app.core.errors import LMSError
from app.courses.content_import import zip_folder
from app.courses.scorm import inspect_package


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or not argv[1].rstrip("/").endswith(".scorm"):
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[1])
    out = Path(argv[2]) if len(argv) == 3 else folder.with_suffix(".zip")
    settings = get_settings()
    data = zip_folder(folder, max_bytes=settings.max_scorm_bytes)
    try:
        info = inspect_package(io.BytesIO(data), settings)
    except LMSError as exc:
        print(f"{folder}: {exc.detail}", file=sys.stderr)
        return 1
    out.write_bytes(data)
    print(f"{out}: {len(data):,} bytes, {info.file_count} files, launches {info.launch_href}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
