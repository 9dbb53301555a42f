"""Streams a run's submissions as one ZIP in constant memory: stdlib zipfile writes each entry
(stored, not deflated: PDFs and Office files are compressed already) into a small buffer that
is handed to the response piece by piece while the stored object is read in chunks."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator, Sequence

from app.storage import Storage

FLUSH_BYTES = 1024 * 1024


class _Sink:
    """A write-only, unseekable file for zipfile: what is written waits here until taken."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0
        self._offset = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        self._offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self._offset

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts, self.size = [], 0
        return data


def stream_zip(
    storage: Storage, entries: Sequence[tuple[str, str | None, str | None]]
) -> Iterator[bytes]:
    """The ZIP's bytes: each entry is (name, storage key) or (name, None, text). ZIP64 so a run's
    archive may pass 4 GiB; memory holds about FLUSH_BYTES plus one storage chunk."""
    sink = _Sink()
    stamp = dt.datetime.now().timetuple()[:6]
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:  # type: ignore[call-overload]
        for name, key, text in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED
            with zf.open(info, mode="w", force_zip64=True) as dest:
                if key is None:
                    dest.write((text or "").encode("utf-8"))
                else:
                    for chunk in storage.open_range(key):
                        dest.write(chunk)
                        if sink.size >= FLUSH_BYTES:
                            yield sink.take()
            if sink.size:
                yield sink.take()
    if sink.size:
        yield sink.take()
