"""Facts read from course media rather than typed by hand: a video's length, a PDF's page count,
a page's reading time, and the minutes (and JP) they suggest.

Videos: MP4/M4V through mutagen (pure Python; reads only the moov atom); other containers (WebM)
through `ffprobe` where it is installed, else unknown. PDFs: pyHanko's reader (already used to
sign certificates). Objects are read in place through ranged reads, on disk or S3 alike.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from typing import Any

from app.storage import Storage

log = logging.getLogger(__name__)

READING_WORDS_PER_MINUTE = 200  # an adult's silent reading of Indonesian prose, roughly
MINUTES_PER_PDF_PAGE = 2  # a dense handout page read with care
FFPROBE_SECONDS = 30
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class MediaFacts:
    duration_seconds: float | None = None
    page_count: int | None = None


class StorageReader(io.RawIOBase):
    """A seekable, read-only file over one stored object: each read is a ranged GET (or a
    seek+read on disk), so parsers that jump to the end of a file do not download all of it."""

    def __init__(self, storage: Storage, key: str, size: int) -> None:
        self._storage, self._key, self._size, self._pos = storage, key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._pos >= self._size or not len(view):
            return 0
        end = min(self._size, self._pos + len(view)) - 1
        data = b"".join(self._storage.open_range(self._key, self._pos, end))
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)


def open_object(storage: Storage, key: str, size: int) -> io.BufferedReader:
    return io.BufferedReader(StorageReader(storage, key, size), buffer_size=256 * 1024)


def video_seconds(storage: Storage, key: str, size: int) -> float | None:
    """The video's length in seconds, or None when no reader knows the container."""
    seconds = _mp4_seconds(open_object(storage, key, size))
    if seconds is None:
        seconds = _ffprobe_seconds(storage, key)
    return seconds if seconds and seconds > 0 and math.isfinite(seconds) else None


def _mp4_seconds(stream: io.BufferedReader) -> float | None:
    from mutagen import MutagenError
    from mutagen.mp4 import MP4

    try:
        info: Any = MP4(stream).info  # type: ignore[no-untyped-call]
        return float(info.length)
    except (MutagenError, ValueError, OSError, KeyError, IndexError):
        return None


def _ffprobe_seconds(storage: Storage, key: str) -> float | None:
    """`ffprobe` reading the object from a pipe (WebM/Matroska keep the duration near the start);
    None when ffprobe is not installed or cannot tell."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None
    process = subprocess.Popen(  # noqa: S603 - fixed arguments, the bytes go through stdin
        [ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", "-i",
         "pipe:0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None

    def feed() -> None:
        try:
            for chunk in storage.open_range(key):
                process.stdin.write(chunk)  # type: ignore[union-attr]
        except (OSError, ValueError):
            pass  # ffprobe had enough and closed its end
        finally:
            with contextlib.suppress(OSError):
                process.stdin.close()  # type: ignore[union-attr]

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    # Not communicate(): it would close stdin under the feeding thread. ffprobe prints one
    # short line, so waiting before reading stdout cannot fill the pipe.
    try:
        process.wait(timeout=FFPROBE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None
    finally:
        feeder.join(1)
    out = process.stdout.read()
    process.stdout.close()
    try:
        return float(out.decode().strip().splitlines()[0])
    except (ValueError, IndexError):
        return None


def pdf_pages(storage: Storage, key: str, size: int) -> int | None:
    """The PDF's page count (its page tree's /Count), or None when the file cannot be read."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    # One streamed read into a local temporary file, not ranged reads: a PDF whose
    # cross-reference table is broken (trailing data, a bad offset) makes the parser scan the
    # whole file back and forth, which on S3 would be thousands of small GETs.
    try:
        with tempfile.TemporaryFile() as local:
            for chunk in storage.open_range(key):
                local.write(chunk)
            local.seek(0)
            reader = PdfFileReader(local, strict=False)
            count = reader.root["/Pages"]["/Count"]
            return int(count) if int(count) > 0 else None
    except Exception:  # a malformed PDF simply has no known page count
        log.info("could not read the page count of %s", key, exc_info=True)
        return None


def probe(storage: Storage, key: str, size: int, content_type: str) -> MediaFacts:
    """The facts worth knowing of a stored file, by its (content-checked) type."""
    if content_type.startswith("video/"):
        return MediaFacts(duration_seconds=video_seconds(storage, key, size))
    if content_type == "application/pdf":
        return MediaFacts(page_count=pdf_pages(storage, key, size))
    return MediaFacts()


# --- minutes from the facts -----------------------------------------------------------------------


def minutes_of_video(seconds: float) -> int:
    """A video takes its own length, rounded up to whole minutes (at least 1)."""
    return max(1, math.ceil(seconds / 60))


def minutes_of_pages(pages: int) -> int:
    """A PDF: MINUTES_PER_PDF_PAGE per page."""
    return max(1, pages * MINUTES_PER_PDF_PAGE)


def reading_minutes(markdown: str | None) -> int:
    """A text page: its words at READING_WORDS_PER_MINUTE, rounded up, at least 1 minute."""
    words = len(_WORD.findall(markdown or ""))
    return max(1, math.ceil(words / READING_WORDS_PER_MINUTE))


def suggested_jp(minutes: int, minutes_per_jp: int) -> float:
    """LAN: 1 JP = 45 minutes of learning (settings.minutes_per_jp); one decimal."""
    return round(minutes / minutes_per_jp, 1) if minutes_per_jp > 0 else 0.0
