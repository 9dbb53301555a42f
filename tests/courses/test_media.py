"""Media facts read from the stored object: MP4 through mutagen, other containers through
ffprobe when the machine has it."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from app.courses import media
from app.storage.disk import DiskStorage

MP4 = Path(__file__).resolve().parent.parent / "data" / "short-150s.mp4"


def _store(tmp_path: Path, data: bytes, content_type: str) -> tuple[DiskStorage, str]:
    storage = DiskStorage(f"file://{tmp_path}")
    key = "media/sample"
    storage.put(key, io.BytesIO(data), content_type=content_type)
    return storage, key


def test_mp4_length_comes_from_the_file(tmp_path: Path) -> None:
    data = MP4.read_bytes()
    storage, key = _store(tmp_path, data, "video/mp4")
    seconds = media.video_seconds(storage, key, len(data))
    assert seconds is not None and 149 <= seconds <= 151


def test_unknown_bytes_have_no_length(tmp_path: Path) -> None:
    data = b"\x00" * 4096
    storage, key = _store(tmp_path, data, "video/mp4")
    assert media.video_seconds(storage, key, len(data)) is None


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg/ffprobe not installed")
def test_webm_length_comes_from_ffprobe(tmp_path: Path) -> None:
    out = tmp_path / "clip.webm"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=32x32:d=7", "-r", "5",
         "-c:v", "libvpx", "-b:v", "20k", str(out)],
        check=True, timeout=60,
    )  # fmt: skip
    data = out.read_bytes()
    storage, key = _store(tmp_path / "store", data, "video/webm")
    seconds = media.video_seconds(storage, key, len(data))
    assert seconds is not None and 6.5 <= seconds <= 7.5
