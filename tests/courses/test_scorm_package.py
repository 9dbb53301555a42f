"""SCORM package checks and unpacking: real packages from tests/data/third_party (vendored, read in place) and
hostile zips built here, each refused before anything is unpacked, with its own error code.
"""

from __future__ import annotations

import io
import json
import stat
import struct
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from app.core.config import Settings
from app.core.errors import LMSError, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from app.courses.scorm import (
    PackageInfo,
    content_type_for,
    inspect_package,
    unpack,
)
from app.storage import DiskStorage
from app.storage.base import ReadableStream, StoredObject
from tests.testdata import THIRD_PARTY

TESTDATA = THIRD_PARTY
SCORM12 = TESTDATA / "scorm12"
SCORM2004 = TESTDATA / "scorm2004"
INVALID = TESTDATA / "scorm_invalid"

MANIFEST_12 = b"""<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="test.pkg" version="1"
    xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
    xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org"><organization identifier="org"><title>Kursus Uji</title>
    <item identifier="i1" identifierref="r1"><title>Bab 1</title></item>
  </organization></organizations>
  <resources>
    <resource identifier="r1" type="webcontent" adlcp:scormtype="sco" href="index.html">
      <file href="index.html"/>
    </resource>
  </resources>
</manifest>
"""


def settings(**overrides: Any) -> Settings:
    return Settings(environment="test", **overrides)


def build_zip(
    entries: dict[str, bytes] | None = None,
    *,
    manifest: bytes | None = MANIFEST_12,
    compression: int = zipfile.ZIP_DEFLATED,
    infos: list[tuple[zipfile.ZipInfo, bytes]] | None = None,
) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we build
        with zipfile.ZipFile(buffer, "w", compression) as zf:
            if manifest is not None:
                zf.writestr("imsmanifest.xml", manifest)
            default = {"index.html": b"<html><body>Halo</body></html>"}
            for name, data in (entries if entries is not None else default).items():
                zf.writestr(name, data)
            for info, data in infos or []:
                zf.writestr(info, data)
    return buffer.getvalue()


def inspect_bytes(data: bytes, cfg: Settings | None = None) -> PackageInfo:
    return inspect_package(io.BytesIO(data), cfg or settings())


def refused(data: bytes, cfg: Settings | None = None) -> LMSError:
    with pytest.raises(LMSError) as caught:
        inspect_bytes(data, cfg)
    return caught.value


def patch_entry(
    data: bytes,
    name: str,
    *,
    crc: int | None = None,
    size: int | None = None,
    flags: int | None = None,
) -> bytes:
    """Rewrite the CRC, uncompressed size or flag bits of `name` in its local and central headers
    (zipfile itself refuses to write such lies)."""
    raw = bytearray(data)
    encoded = name.encode()
    for signature, flags_at, crc_at, size_at, name_len_at, header_len in (
        (b"PK\x03\x04", 6, 14, 22, 26, 30),
        (b"PK\x01\x02", 8, 16, 24, 28, 46),
    ):
        start = 0
        while (pos := raw.find(signature, start)) >= 0:
            start = pos + 4
            (name_len,) = struct.unpack_from("<H", raw, pos + name_len_at)
            if bytes(raw[pos + header_len : pos + header_len + name_len]) != encoded:
                continue
            if crc is not None:
                struct.pack_into("<I", raw, pos + crc_at, crc)
            if size is not None:
                struct.pack_into("<I", raw, pos + size_at, size)
            if flags is not None:
                struct.pack_into("<H", raw, pos + flags_at, flags)
    return bytes(raw)


# --------------------------------------------------------------------------- real packages

REAL_12 = [
    # file, title, launch href, items, resources, files (directories left out)
    (
        "RuntimeMinimumCalls_SCORM12.zip",
        "Golf Explained - Minimum Run-time Calls",
        "Playing/Playing.html",
        22,
        19,
        44,
    ),
    ("scorm12.zip", "Golf Explained - CP One File Per SCO", "Playing/Playing.html", 22, 19, 44),
    (
        "singlesco_scorm12.zip",
        "Golf Explained - CP Single SCO",
        "shared/launchpage.html",
        1,
        1,
        46,
    ),
    (
        "singlescobasic.zip",
        "Golf Explained - Run-time Basic Calls",
        "shared/launchpage.html",
        1,
        1,
        46,
    ),
    # No <organization>: launched from its only SCO resource; the title falls back to the
    # manifest identifier because the package has no other.
    (
        "singlescobasic_missingorg.zip",
        "com.scorm.golfsamples.runtime.basicruntime.12",
        "sso/launchpage.html",
        0,
        1,
        14,
    ),
]


@pytest.mark.parametrize(("name", "title", "launch", "items", "resources", "files"), REAL_12)
def test_real_scorm12_packages_inspect(
    name: str, title: str, launch: str, items: int, resources: int, files: int
) -> None:
    path = SCORM12 / name
    with path.open("rb") as fh:
        info = inspect_package(fh, settings())
    assert info.version == "1.2"
    assert info.title == title
    assert info.launch_href == launch
    assert len(info.items) == items
    assert len(info.resources) == resources
    assert info.file_count == files
    assert info.archive_size == path.stat().st_size
    assert info.total_size == sum(size for _, size in info.entries)
    json.dumps(info.manifest_json())  # storable as JSON


def test_multi_sco_package_tree_and_parameters() -> None:
    with (SCORM12 / "RuntimeMinimumCalls_SCORM12.zip").open("rb") as fh:
        info = inspect_package(fh, settings())
    folders = [item for item in info.items if item.depth == 0]
    assert [item.title for item in folders] == [
        "Playing the Game",
        "Etiquette",
        "Handicapping",
        "Having Fun",
    ]
    assert all(item.launch_href is None for item in folders)
    leaves = [item for item in info.items if item.depth == 1]
    assert len(leaves) == 18 and all(item.scorm_type == "sco" for item in leaves)
    quiz = next(item for item in info.items if item.identifier == "playing_quiz_item")
    assert quiz.launch_href == "shared/assessmenttemplate.html?questions=Playing"
    assert info.launch_item == "playing_playing_item"
    common = next(res for res in info.resources if res.identifier == "common_files")
    assert common.scorm_type == "asset" and common.href is None
    playing = next(res for res in info.resources if res.identifier == "playing_playing_resource")
    assert playing.dependencies == ("common_files",)
    assert "Playing/playing.jpg" in playing.files


def test_asset_only_package_launches_first_asset() -> None:
    with (SCORM12 / "scorm12.zip").open("rb") as fh:
        info = inspect_package(fh, settings())
    assert {res.scorm_type for res in info.resources} == {"asset"}
    assert info.launch_item == "playing_playing_item"


@pytest.mark.parametrize("name", sorted(p.name for p in SCORM2004.glob("*.zip")))
def test_scorm2004_packages_refused_with_clear_message(name: str) -> None:
    with (SCORM2004 / name).open("rb") as fh, pytest.raises(ValidationFailed) as caught:
        inspect_package(fh, settings())
    assert caught.value.code == "scorm_2004_unsupported"
    assert caught.value.field == "file"
    assert "SCORM 2004 belum didukung" in caught.value.detail
    assert "SCORM 1.2" in caught.value.detail


def test_scorm2004_detected_by_namespace_without_schemaversion() -> None:
    manifest = MANIFEST_12.replace(b"<schemaversion>1.2</schemaversion>", b"").replace(
        b'<item identifier="i1" identifierref="r1"><title>Bab 1</title></item>',
        b'<item identifier="i1" identifierref="r1"><title>Bab 1</title>'
        b'<imsss:sequencing xmlns:imsss="http://www.imsglobal.org/xsd/imsss"/></item>',
    )
    assert refused(build_zip(manifest=manifest)).code == "scorm_2004_unsupported"


INVALID_CASES = [
    ("badscorm.zip", "scorm_manifest_in_subfolder", "'badscorm/'"),
    ("invalid.zip", "scorm_no_manifest", "imsmanifest.xml"),
    ("validscorm.zip", "scorm_no_manifest_element", "<manifest>"),
]


@pytest.mark.parametrize(("name", "code", "words"), INVALID_CASES)
def test_invalid_packages_refused_each_with_its_message(name: str, code: str, words: str) -> None:
    with (INVALID / name).open("rb") as fh, pytest.raises(ValidationFailed) as caught:
        inspect_package(fh, settings())
    assert caught.value.code == code
    assert words in caught.value.detail


def test_manifest_in_subfolder_tells_what_to_do() -> None:
    with (INVALID / "badscorm.zip").open("rb") as fh, pytest.raises(ValidationFailed) as caught:
        inspect_package(fh, settings())
    assert "zip isi folder tersebut, bukan foldernya" in caught.value.detail.lower()


# --------------------------------------------------------------------------- manifest parsing


def test_manifest_without_prefixes_with_bases_parameters_and_mastery() -> None:
    manifest = b"""<?xml version="1.0"?>
<manifest identifier="plain" xml:base="content/">
  <organizations default="b">
    <organization identifier="a"><title>Bukan default</title></organization>
    <organization identifier="b"><title>Organisasi Utama</title>
      <item identifier="folder"><title>Bagian</title>
        <item identifier="hidden" identifierref="r0" isvisible="false"><title>Tersembunyi</title></item>
        <item identifier="sco" identifierref="r1" parameters="?mode=uji">
          <title>Materi</title>
          <masteryscore>75</masteryscore>
          <datafromlms>level=2</datafromlms>
        </item>
      </item>
    </organization>
  </organizations>
  <resources xml:base="pkg/">
    <resource identifier="r0" type="webcontent" scormtype="asset" href="intro.html"/>
    <resource identifier="r1" type="webcontent" scormtype="sco" xml:base="sco1/" href="start.html?x=1">
      <file href="start.html"/>
      <dependency identifierref="r0"/>
    </resource>
  </resources>
</manifest>"""
    data = build_zip(
        {"content/pkg/sco1/start.html": b"<html></html>", "content/pkg/intro.html": b"<p>"},
        manifest=manifest,
    )
    info = inspect_bytes(data)
    assert info.title == "Organisasi Utama"
    # The first SCO wins over an earlier asset; parameters join with "&" after "?x=1".
    assert info.launch_href == "content/pkg/sco1/start.html?x=1&mode=uji"
    assert info.launch_item == "sco"
    assert info.mastery_score == 75.0
    assert info.launch_data == "level=2"
    assert [(i.identifier, i.depth, i.is_visible) for i in info.items] == [
        ("folder", 0, True),
        ("hidden", 1, False),
        ("sco", 1, True),
    ]
    resource = next(r for r in info.resources if r.identifier == "r1")
    assert resource.files == ("content/pkg/sco1/start.html",)
    assert resource.dependencies == ("r0",)


def test_launch_href_must_exist_in_zip() -> None:
    error = refused(build_zip({"other.html": b"x"}))
    assert error.code == "scorm_launch_missing"
    assert "index.html" in error.detail


def test_manifest_href_climbing_out_of_package_refused() -> None:
    manifest = MANIFEST_12.replace(b'href="index.html">', b'href="../index.html">')
    assert refused(build_zip(manifest=manifest)).code == "scorm_href_outside"


def test_manifest_with_nothing_to_launch_refused() -> None:
    manifest = b"""<manifest identifier="x"><organizations/><resources>
      <resource identifier="r" type="webcontent"/></resources></manifest>"""
    assert refused(build_zip(manifest=manifest)).code == "scorm_nothing_to_launch"


def test_root_element_other_than_manifest_refused() -> None:
    assert refused(build_zip(manifest=b"<html></html>")).code == "scorm_no_manifest_element"


def test_malformed_manifest_refused() -> None:
    error = refused(build_zip(manifest=b"<manifest><organizations></manifest>"))
    assert error.code == "scorm_manifest_malformed"


def test_xxe_manifest_refused() -> None:
    manifest = b"""<?xml version="1.0"?>
<!DOCTYPE manifest [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<manifest identifier="x"><organizations><organization identifier="o"><title>&xxe;</title>
</organization></organizations></manifest>"""
    error = refused(build_zip(manifest=manifest))
    assert error.code == "scorm_manifest_unsafe_xml"


def test_billion_laughs_manifest_refused() -> None:
    manifest = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<manifest identifier="&lol3;"/>"""
    assert refused(build_zip(manifest=manifest)).code == "scorm_manifest_unsafe_xml"


# --------------------------------------------------------------------------- hostile archives


def test_not_a_zip_is_unsupported_media_type() -> None:
    error = refused(b"%PDF-1.7 this is not a zip at all" * 10)
    assert isinstance(error, UnsupportedMediaType)
    assert error.code == "scorm_not_zip"


def test_corrupt_zip_refused() -> None:
    data = build_zip()
    error = refused(data[: len(data) - 30])  # central directory cut off
    assert isinstance(error, ValidationFailed)
    assert error.code == "scorm_corrupt_zip"


def test_archive_over_size_cap_refused() -> None:
    data = build_zip({"index.html": bytes(range(256)) * 8}, compression=zipfile.ZIP_STORED)
    error = refused(data, settings(max_scorm_bytes=1024))
    assert isinstance(error, PayloadTooLarge)
    assert error.code == "scorm_archive_too_large"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("../x.html", "scorm_zip_slip"),
        ("a/../../x.html", "scorm_zip_slip"),
        ("/etc/x.html", "scorm_absolute_path"),
        ("C:\\x.html", "scorm_absolute_path"),
        ("C:/x.html", "scorm_absolute_path"),
        ("\\\\server\\share\\x.html", "scorm_absolute_path"),
        ("folder\\x.html", "scorm_backslash_path"),
        ("a//x.html", "scorm_invalid_path"),
        ("./x.html", "scorm_invalid_path"),
    ],
)
def test_unsafe_entry_names_refused(name: str, code: str) -> None:
    error = refused(build_zip({"index.html": b"x", name: b"evil"}))
    assert isinstance(error, ValidationFailed)
    assert error.code == code
    assert name in error.detail


def test_zip_slip_message_names_the_entry() -> None:
    error = refused(build_zip({"index.html": b"x", "a/../../x.html": b"evil"}))
    assert error.detail == (
        "Berkas 'a/../../x.html' di dalam paket menunjuk ke luar folder paket (zip-slip); "
        "paket ditolak."
    )


def test_nul_in_entry_name_refused() -> None:
    data = build_zip({"index.html": b"x", "evilXname.html": b"evil"})
    data = data.replace(b"evilXname.html", b"evil\x00name.html")
    assert refused(data).code == "scorm_nul_in_name"


def test_symlink_entry_refused() -> None:
    link = zipfile.ZipInfo("link.html")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    error = refused(build_zip(infos=[(link, b"/etc/passwd")]))
    assert error.code == "scorm_symlink"
    assert "link.html" in error.detail


def test_duplicate_entry_refused() -> None:
    data = build_zip(infos=[(zipfile.ZipInfo("index.html"), b"second copy")])
    assert refused(data).code == "scorm_duplicate_entry"


def test_encrypted_entry_refused() -> None:
    data = patch_entry(
        build_zip({"index.html": b"x", "secret.html": b"xx"}), "secret.html", flags=1
    )
    error = refused(data)
    assert error.code == "scorm_encrypted_entry"
    assert "secret.html" in error.detail


def test_too_many_files_refused() -> None:
    files = {f"page{n}.html": b"x" for n in range(6)} | {"index.html": b"x"}
    error = refused(build_zip(files), settings(scorm_max_files=5))
    assert isinstance(error, PayloadTooLarge)
    assert error.code == "scorm_too_many_files"


def test_zip_bomb_entry_refused_by_ratio() -> None:
    error = refused(build_zip({"index.html": b"x", "bomb.bin": bytes(8 * 1024**2)}))
    assert error.code == "scorm_compression_ratio"
    assert "bomb.bin" in error.detail


def test_ratio_limit_is_a_setting() -> None:
    text = b"".join(b"baris %d kursus diklat asn\n" % n for n in range(60_000))  # ~1.6 MB
    data = build_zip({"index.html": b"x", "data.txt": text})
    inspect_bytes(data)  # fine at the default 100:1
    assert refused(data, settings(scorm_max_compression_ratio=3)).code == "scorm_compression_ratio"


def test_many_small_files_refused_by_overall_ratio() -> None:
    files = {f"f{n}.txt": bytes(200 * 1024) for n in range(10)} | {"index.html": b"x"}
    error = refused(build_zip(files))
    assert error.code == "scorm_compression_ratio"
    assert "keseluruhan" in error.detail


def test_small_highly_compressible_files_are_fine() -> None:
    inspect_bytes(build_zip({"index.html": b" " * 200_000}))


def test_total_unpacked_size_over_cap_refused() -> None:
    data = build_zip({"index.html": b"a" * 1500, "b.html": b"b" * 1500})
    error = refused(data, settings(scorm_max_unpacked_bytes=2048))
    assert isinstance(error, PayloadTooLarge)
    assert error.code == "scorm_unpacked_too_large"


def test_lying_size_header_cannot_sneak_past_checks(tmp_path: Path) -> None:
    """A header that under-declares a bomb passes the central-directory checks, but unpacking
    stops at the declared size (CRC mismatch), and nothing is left in storage."""
    data = build_zip({"index.html": b"x", "bomb.bin": bytes(8 * 1024**2)})
    lying = patch_entry(data, "bomb.bin", size=1000)
    info = inspect_bytes(lying)
    assert dict(info.entries)["bomb.bin"] == 1000
    storage = DiskStorage(f"file://{tmp_path / 'objects'}")
    with pytest.raises(ValidationFailed) as caught:
        unpack(io.BytesIO(lying), storage, prefix="scorm/1", settings=settings())
    assert caught.value.code == "scorm_corrupt_entry"
    assert "bomb.bin" in caught.value.detail
    assert stored_files(tmp_path / "objects") == []


def test_lying_size_with_matching_crc_lets_only_declared_bytes_through(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 40
    data = build_zip({"index.html": b"x", "big.bin": payload})
    lying = patch_entry(data, "big.bin", size=100, crc=zlib.crc32(payload[:100]))
    storage = DiskStorage(f"file://{tmp_path / 'objects'}")
    files = {f.path: f for f in unpack(io.BytesIO(lying), storage, prefix="scorm/1")}
    assert files["big.bin"].size == 100
    assert b"".join(storage.open_range(files["big.bin"].storage_key)) == payload[:100]


# --------------------------------------------------------------------------- unpack


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_unpack_real_package_with_app_made_keys(tmp_path: Path) -> None:
    path = SCORM12 / "singlescobasic.zip"
    storage = DiskStorage(f"file://{tmp_path / 'objects'}")
    with path.open("rb") as fh:
        info = inspect_package(fh, settings())
        files = unpack(fh, storage, prefix="scorm/7", settings=settings())
    assert [(f.path, f.size) for f in files] == list(info.entries)
    with zipfile.ZipFile(path) as zf:
        for f in files:
            assert f.storage_key.startswith("scorm/7/")
            # Keys never carry the entry name.
            assert f.path.rsplit("/", 1)[-1].split(".")[0] not in f.storage_key
            body = b"".join(storage.open_range(f.storage_key))
            assert body == zf.read(f.path)
            assert storage.stat(f.storage_key).content_type == f.content_type
    assert len({f.storage_key for f in files}) == len(files)
    types = {f.path: f.content_type for f in files}
    assert types["shared/launchpage.html"] == "text/html"
    assert types["shared/scormfunctions.js"] == "text/javascript"
    assert types["shared/style.css"] == "text/css"
    assert types["Etiquette/course.jpg"] == "image/jpeg"
    assert types["shared/cclicense.png"] == "image/png"


class FailingStorage(DiskStorage):
    """A disk store whose Nth put fails half-way through the stream."""

    def __init__(self, url: str, fail_on: int) -> None:
        super().__init__(url)
        self.fail_on = fail_on
        self.puts = 0

    def put(
        self,
        key: str,
        stream: ReadableStream,
        *,
        content_type: str,
        max_bytes: int | None = None,
    ) -> StoredObject:
        self.puts += 1
        if self.puts == self.fail_on:

            class Broken:
                def __init__(self) -> None:
                    self.calls = 0

                def read(self, size: int = -1, /) -> bytes:
                    self.calls += 1
                    if self.calls > 1:
                        raise OSError("disk full")
                    return stream.read(size)

            return super().put(key, Broken(), content_type=content_type, max_bytes=max_bytes)
        return super().put(key, stream, content_type=content_type, max_bytes=max_bytes)


@pytest.mark.parametrize("fail_on", [1, 2, 20])
def test_unpack_failure_leaves_nothing_behind(tmp_path: Path, fail_on: int) -> None:
    storage = FailingStorage(f"file://{tmp_path / 'objects'}", fail_on)
    with (SCORM12 / "singlescobasic.zip").open("rb") as fh, pytest.raises(OSError):
        unpack(fh, storage, prefix="scorm/9", settings=settings())
    assert storage.puts == fail_on
    assert stored_files(tmp_path / "objects") == []


def test_unpack_bad_crc_leaves_nothing_behind(tmp_path: Path) -> None:
    data = build_zip({"index.html": b"x" * 100, "z.txt": b"hello " * 500})
    broken = patch_entry(data, "z.txt", crc=0x12345678)
    storage = DiskStorage(f"file://{tmp_path / 'objects'}")
    with pytest.raises(ValidationFailed) as caught:
        unpack(io.BytesIO(broken), storage, prefix="scorm/3")
    assert caught.value.code == "scorm_corrupt_entry"
    assert "z.txt" in caught.value.detail
    assert stored_files(tmp_path / "objects") == []


def test_unpack_checks_the_archive_itself(tmp_path: Path) -> None:
    """unpack never relies on inspect_package having run first."""
    storage = DiskStorage(f"file://{tmp_path / 'objects'}")
    with pytest.raises(ValidationFailed) as caught:
        unpack(io.BytesIO(build_zip({"../evil.html": b"x"})), storage, prefix="scorm/4")
    assert caught.value.code == "scorm_zip_slip"
    assert stored_files(tmp_path / "objects") == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a/b.JS", "text/javascript"),
        ("x.woff2", "font/woff2"),
        ("v.mp4", "video/mp4"),
        ("i.svg", "image/svg+xml"),
        ("d.json", "application/json"),
        ("noext", "application/octet-stream"),
    ],
)
def test_content_types(path: str, expected: str) -> None:
    assert content_type_for(path) == expected
