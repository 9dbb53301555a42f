"""File types are decided by content: real file bytes under misleading names are caught."""

from __future__ import annotations

import pytest

from app.core.errors import UnsupportedMediaType, ValidationFailed
from app.courses.filetypes import (
    HEAD_BYTES,
    TEXT,
    UploadKind,
    check_kind,
    detect,
    is_inline_safe,
)
from tests.courses.conftest import (
    mp4_bytes,
    odf_bytes,
    ogg_bytes,
    ooxml_bytes,
    pdf_bytes,
    png_bytes,
    webm_bytes,
    zip_bytes,
)

HTML_PAGE = b"<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>"
SVG_IMAGE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1"/></svg>'
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04" + b"\x00" * 16
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 24
MP3_ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 64
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 64
DOCM = zip_bytes(
    [
        (
            "[Content_Types].xml",
            b'<Types><Override PartName="/word/document.xml" '
            b'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>',
        ),
        ("word/vbaProject.bin", b"\x00" * 64),
    ]
)
CSV = b"nip,nama,jp\n199001012015031001,Dewi Lestari,20\n199202022016042002,Budi,12\n"


@pytest.mark.parametrize(
    ("name", "data", "kind", "mime", "label"),
    [
        ("sampul.png", png_bytes(), UploadKind.COVER, "image/png", "PNG"),
        ("foto.jpg", JPEG, UploadKind.COVER, "image/jpeg", "JPEG"),
        ("animasi.gif", GIF, UploadKind.COVER, "image/gif", "GIF"),
        ("sampul.webp", WEBP, UploadKind.COVER, "image/webp", "WebP"),
        ("modul.pdf", pdf_bytes(), UploadKind.DOCUMENT, "application/pdf", "PDF"),
        ("pindaian.pdf", b"\r\n\x00junk" + pdf_bytes(), UploadKind.DOCUMENT, "application/pdf", "PDF"),
        ("kuliah.mp4", mp4_bytes(), UploadKind.VIDEO, "video/mp4", "MP4"),
        ("kuliah.mp4", mp4_bytes(major=b"mp42", compatible=(b"mp42",)), UploadKind.VIDEO, "video/mp4", "MP4"),
        ("kuliah.m4v", mp4_bytes(major=b"M4V ", compatible=(b"M4V ",)), UploadKind.VIDEO, "video/mp4", "MP4"),
        ("kuliah.webm", webm_bytes(), UploadKind.VIDEO, "video/webm", "WebM"),
        ("kuliah.ogv", ogg_bytes(), UploadKind.VIDEO, "video/ogg", "Ogg"),
        ("panduan.docx", ooxml_bytes("docx"), UploadKind.FILE, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "DOCX"),
        ("rekap.xlsx", ooxml_bytes("xlsx"), UploadKind.FILE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX"),
        ("paparan.pptx", ooxml_bytes("pptx"), UploadKind.FILE, "application/vnd.openxmlformats-officedocument.presentationml.presentation", "PPTX"),
        ("laporan.odt", odf_bytes("text"), UploadKind.FILE, "application/vnd.oasis.opendocument.text", "ODT"),
        ("tabel.ods", odf_bytes("spreadsheet"), UploadKind.FILE, "application/vnd.oasis.opendocument.spreadsheet", "ODS"),
        ("arsip.zip", zip_bytes([("a.txt", b"halo")]), UploadKind.FILE, "application/zip", "ZIP"),
        ("rekaman.mp3", MP3_ID3, UploadKind.FILE, "audio/mpeg", "MP3"),
        ("rekaman.mp3", MP3_FRAME, UploadKind.FILE, "audio/mpeg", "MP3"),
        ("rekaman.m4a", mp4_bytes(major=b"M4A ", compatible=(b"M4A ", b"isom")), UploadKind.FILE, "audio/mp4", "M4A"),
        ("catatan.txt", "Catatan: kepemimpinan — ASN berAKHLAK\n".encode(), UploadKind.FILE, "text/plain; charset=utf-8", "teks"),
        ("peserta.csv", CSV, UploadKind.FILE, "text/csv; charset=utf-8", "CSV"),
        ("gambar.png", png_bytes(), UploadKind.FILE, "image/png", "PNG"),
        ("paket.zip", zip_bytes([("imsmanifest.xml", b"<manifest/>")]), UploadKind.SCORM, "application/zip", "ZIP"),
    ],
)  # fmt: skip
def test_accepted_by_content(
    name: str, data: bytes, kind: UploadKind, mime: str, label: str
) -> None:
    detected = check_kind(kind, data)
    assert (detected.mime, detected.label) == (mime, label), name
    assert detected.inline_safe is is_inline_safe(mime)


@pytest.mark.parametrize(
    ("name", "data", "kind", "detected_label"),
    [
        ("video.mp4", HTML_PAGE, UploadKind.VIDEO, "HTML"),
        ("modul.pdf", HTML_PAGE, UploadKind.DOCUMENT, "HTML"),
        ("sampul.png", SVG_IMAGE, UploadKind.COVER, "SVG"),
        ("modul.pdf", zip_bytes([("a.txt", b"x")]), UploadKind.DOCUMENT, "ZIP"),
        ("modul.pdf", zip_bytes([("modul.pdf", pdf_bytes())], store_first=True), UploadKind.DOCUMENT, "ZIP"),
        ("modul.pdf", ooxml_bytes("docx"), UploadKind.DOCUMENT, "DOCX"),
        ("kuliah.mp4", png_bytes(), UploadKind.VIDEO, "PNG"),
        ("kuliah.mp4", mp4_bytes(major=b"qt  ", compatible=(b"qt  ",)), UploadKind.VIDEO, "QuickTime MOV"),
        ("kuliah.mkv", webm_bytes(doctype=b"matroska"), UploadKind.VIDEO, "Matroska (MKV)"),
        ("kuliah.ogg", ogg_bytes(codec_header=b"\x01vorbis\x00\x00\x00\x00"), UploadKind.VIDEO, "Ogg (audio saja)"),
        ("kuliah.mp4", mp4_bytes(major=b"M4A ", compatible=(b"M4A ",)), UploadKind.VIDEO, "M4A"),
        ("sampul.jpg", mp4_bytes(major=b"heic", compatible=(b"mif1", b"heic")), UploadKind.COVER, "HEIC/HEIF"),
        ("sampul.png", pdf_bytes(), UploadKind.COVER, "PDF"),
        ("paket.zip", pdf_bytes(), UploadKind.SCORM, "PDF"),
        ("paket.zip", ooxml_bytes("pptx"), UploadKind.SCORM, "PPTX"),
        ("makro.docx", DOCM, UploadKind.FILE, "DOCM (bermakro)"),
        ("lama.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, UploadKind.FILE, "dokumen Office lama (DOC/XLS/PPT)"),
        ("laporan.pdf", b"MZ" + b"\x90" * 58 + (64).to_bytes(4, "little") + b"PE\x00\x00" + b"\x00" * 64, UploadKind.FILE, "program Windows (EXE)"),
        ("modul.pdf", b"Rar!\x1a\x07\x01\x00" + b"\x00" * 32, UploadKind.DOCUMENT, "RAR"),
    ],
)  # fmt: skip
def test_refused_by_content_whatever_the_name(
    name: str, data: bytes, kind: UploadKind, detected_label: str
) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        check_kind(kind, data)
    assert caught.value.status_code == 415
    assert f"terdeteksi sebagai {detected_label}," in caught.value.detail, name


def test_message_names_what_was_found_and_what_is_needed() -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        check_kind("video", png_bytes())
    assert caught.value.detail == (
        "Berkas ini terdeteksi sebagai PNG, padahal aktivitas video memerlukan MP4, WebM atau Ogg."
    )


def test_unknown_bytes_are_refused_with_a_clear_message() -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        check_kind(UploadKind.FILE, bytes(range(256)) * 4)
    assert caught.value.detail.startswith(
        "Jenis berkas ini tidak dikenali, padahal aktivitas berkas"
    )
    utf16 = "Catatan".encode("utf-16")
    assert detect(utf16) is None


def test_empty_file_and_unknown_kind_are_validation_errors() -> None:
    with pytest.raises(ValidationFailed):
        check_kind(UploadKind.DOCUMENT, b"")
    with pytest.raises(ValidationFailed):
        check_kind("podcast", pdf_bytes())


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (HTML_PAGE, "HTML"),
        (b"  \n<!-- komentar -->\n<div>halo</div>", "HTML"),
        (b"Teks biasa lalu <script src=//evil.example/x.js></script>", "HTML"),
        (SVG_IMAGE, "SVG"),
        (b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n<svg></svg>', "SVG"),
        (b'<?xml version="1.0"?><peserta><nama>Dewi</nama></peserta>', "XML"),
    ],
)
def test_markup_may_be_a_file_but_never_inline(data: bytes, label: str) -> None:
    detected = check_kind(UploadKind.FILE, data)
    assert detected.label == label
    assert detected.inline_safe is False
    for kind in (UploadKind.VIDEO, UploadKind.DOCUMENT, UploadKind.COVER):
        with pytest.raises(UnsupportedMediaType):
            check_kind(kind, data)


def test_office_zip_is_recognised_from_its_entries_not_its_name() -> None:
    # The same bytes under any name: only [Content_Types].xml decides.
    assert detect(ooxml_bytes("xlsx")).label == "XLSX"  # type: ignore[union-attr]
    # A plain zip that merely contains a folder called word/ is not a DOCX.
    fake = zip_bytes([("word/document.xml", b"<w/>"), ("readme.txt", b"x")])
    assert detect(fake).label == "ZIP"  # type: ignore[union-attr]
    # An archive that hides the content types after a large entry is just a ZIP to us.
    padded = zip_bytes([("big.bin", bytes(range(256)) * 400), ("[Content_Types].xml", b"x")])
    assert detect(padded[:HEAD_BYTES]).label == "ZIP"  # type: ignore[union-attr]


def test_text_cut_inside_a_multibyte_character_is_still_text() -> None:
    # The head ends inside "—" (3 bytes in UTF-8) because the file goes on after it...
    head = b"a" * (HEAD_BYTES - 1) + "—".encode()[:1]
    assert detect(head) == TEXT
    # ...whereas a file that really ends there is not valid UTF-8.
    assert detect(b"abc" + "—".encode()[:2]) is None


def test_binary_control_bytes_are_not_text() -> None:
    assert detect(b"nama,nip\x00\x01\x02") is None


@pytest.mark.parametrize(
    ("content_type", "safe"),
    [
        ("video/mp4", True),
        ("audio/mpeg", True),
        ("image/png", True),
        ("application/pdf", True),
        ("text/plain; charset=utf-8", True),
        ("TEXT/PLAIN", True),
        ("text/html; charset=utf-8", False),
        ("image/svg+xml", False),
        ("application/xml", False),
        ("text/csv", False),
        ("application/octet-stream", False),
        ("application/zip", False),
        ("image/x-icon", False),
    ],
)
def test_inline_safe_allow_list(content_type: str, safe: bool) -> None:
    assert is_inline_safe(content_type) is safe
