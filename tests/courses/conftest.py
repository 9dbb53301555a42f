"""Courses tests: the storage fixtures (disk, real S3 endpoint) and real sample file bytes.

The S3 fixtures are re-exported from tests/storage so both suites use the same definitions.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from tests.storage.conftest import (  # re-exported fixtures
    disk_storage,
    make_s3_storage,
    s3_storage,
    storage,
)

__all__ = [
    "disk_storage",
    "make_s3_storage",
    "s3_storage",
    "storage",
]


def png_bytes(*, width: int = 1, height: int = 1) -> bytes:
    """A valid, decodable PNG (grey pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def pdf_bytes(*, text: str = "Materi Latsar CPNS") -> bytes:
    """A one-page PDF with correct xref offsets."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(
    *, major: bytes = b"isom", compatible: tuple[bytes, ...] = (b"isom", b"mp41")
) -> bytes:
    """An ISO base media file: ftyp, a free box and an mdat (enough for detection)."""
    ftyp = _box(b"ftyp", major + struct.pack(">I", 512) + b"".join(compatible))
    return ftyp + _box(b"free", b"") + _box(b"mdat", b"\x00" * 256)


def _ebml_element(element_id: bytes, payload: bytes) -> bytes:
    assert len(payload) < 127
    return element_id + bytes([0x80 | len(payload)]) + payload


def webm_bytes(*, doctype: bytes = b"webm") -> bytes:
    """An EBML header (Matroska spec) followed by the start of a Segment."""
    header = b"".join(
        [
            _ebml_element(b"\x42\x86", b"\x01"),  # EBMLVersion
            _ebml_element(b"\x42\xf7", b"\x01"),  # EBMLReadVersion
            _ebml_element(b"\x42\xf2", b"\x04"),  # EBMLMaxIDLength
            _ebml_element(b"\x42\xf3", b"\x08"),  # EBMLMaxSizeLength
            _ebml_element(b"\x42\x82", doctype),  # DocType
            _ebml_element(b"\x42\x87", b"\x04"),  # DocTypeVersion
            _ebml_element(b"\x42\x85", b"\x02"),  # DocTypeReadVersion
        ]
    )
    segment = b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff"
    return _ebml_element(b"\x1a\x45\xdf\xa3", header) + segment + b"\x00" * 64


def ogg_bytes(*, codec_header: bytes = b"\x80theora\x03\x02\x01") -> bytes:
    """A first Ogg page (beginning of stream) carrying a codec identification header."""
    header = b"OggS\x00\x02" + b"\x00" * 8 + b"\x01\x00\x00\x00" + b"\x00" * 8
    return header + b"\x01" + bytes([len(codec_header)]) + codec_header


def zip_bytes(entries: list[tuple[str, bytes]], *, store_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data) in enumerate(entries):
            method = zipfile.ZIP_STORED if store_first and index == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=method)
    return buffer.getvalue()


_OOXML_MAIN = {
    "docx": ("word/document.xml", "wordprocessingml.document.main+xml"),
    "xlsx": ("xl/workbook.xml", "spreadsheetml.sheet.main+xml"),
    "pptx": ("ppt/presentation.xml", "presentationml.presentation.main+xml"),
}


def ooxml_bytes(kind: str = "docx", *, content_types_first: bool = True) -> bytes:
    """A minimal Office Open XML package: the content types part names the main document."""
    part, main = _OOXML_MAIN[kind]
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{part}" '
        f'ContentType="application/vnd.openxmlformats-officedocument.{main}"/></Types>'
    ).encode()
    entries = [("[Content_Types].xml", content_types), (part, b"<document/>")]
    return zip_bytes(entries if content_types_first else entries[::-1])


def odf_bytes(subtype: str = "text") -> bytes:
    mimetype = f"application/vnd.oasis.opendocument.{subtype}".encode()
    return zip_bytes(
        [("mimetype", mimetype), ("content.xml", b"<office:document/>")], store_first=True
    )
