"""Decides what an uploaded file is from its first bytes, never from its name or the client's type.

Owns the magic-byte table, what each upload kind accepts, and which types may be shown inline.
"""

# Hand-written rather than a library: puremagic 1.30 (the newest PyPI offers for Python 3.11)
# calls any zip a DOCX, ranks MP3/JPEG guesses by low "confidence", and knows no UTF-8 text;
# filetype 1.2.0 (last release 2022) finds DOCX by searching for "word/" in the bytes and does
# not know text, HTML or SVG at all. We need exact answers for a dozen formats plus the zip and
# text rules below, which is a short table.

from __future__ import annotations

import codecs
import re
import struct
import zlib
from dataclasses import dataclass
from enum import StrEnum

from app.core.errors import UnsupportedMediaType, ValidationFailed
from app.core.i18n import gettext_ as _

# Enough for every signature below and for the first entries of an Office/ODF zip.
HEAD_BYTES = 64 * 1024


class UploadKind(StrEnum):
    """What an upload is for; the values of the activity kinds it feeds, plus course covers."""

    VIDEO = "video"
    DOCUMENT = "document"
    COVER = "cover"
    FILE = "file"
    SCORM = "scorm"


@dataclass(frozen=True, slots=True)
class DetectedType:
    mime: str
    extension: str
    label: str

    @property
    def inline_safe(self) -> bool:
        """False for markup (HTML, SVG, XML) and anything a browser might run; see delivery."""
        return is_inline_safe(self.mime)


# --- inline safety -----------------------------------------------------------------------

_INLINE_SAFE_EXACT = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}
)


def base_mime(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_inline_safe(content_type: str) -> bool:
    """Only types a browser renders without running scripts may be shown inline (OWASP upload)."""
    mime = base_mime(content_type)
    return mime.startswith(("video/", "audio/")) or mime in _INLINE_SAFE_EXACT


# --- the types we name ---------------------------------------------------------------------

PDF = DetectedType("application/pdf", "pdf", "PDF")
PNG = DetectedType("image/png", "png", "PNG")
JPEG = DetectedType("image/jpeg", "jpg", "JPEG")
GIF = DetectedType("image/gif", "gif", "GIF")
WEBP = DetectedType("image/webp", "webp", "WebP")
MP4 = DetectedType("video/mp4", "mp4", "MP4")
WEBM = DetectedType("video/webm", "webm", "WebM")
OGG_VIDEO = DetectedType("video/ogg", "ogv", "Ogg")
OGG_AUDIO = DetectedType("audio/ogg", "ogg", "Ogg (audio saja)")
OGG_OTHER = DetectedType("application/ogg", "ogx", "Ogg (kodek tidak dikenal)")
MP3 = DetectedType("audio/mpeg", "mp3", "MP3")
M4A = DetectedType("audio/mp4", "m4a", "M4A")
ZIP = DetectedType("application/zip", "zip", "ZIP")
DOCX = DetectedType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", "DOCX"
)
XLSX = DetectedType(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", "XLSX"
)
PPTX = DetectedType(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx", "PPTX"
)
TEXT = DetectedType("text/plain; charset=utf-8", "txt", "teks")
CSV = DetectedType("text/csv; charset=utf-8", "csv", "CSV")
HTML = DetectedType("text/html; charset=utf-8", "html", "HTML")
SVG = DetectedType("image/svg+xml", "svg", "SVG")
XML = DetectedType("application/xml", "xml", "XML")

# Recognised only so the refusal can say what the file is.
_QUICKTIME = DetectedType("video/quicktime", "mov", "QuickTime MOV")
_3GP = DetectedType("video/3gpp", "3gp", "3GP")
_HEIF = DetectedType("image/heif", "heic", "HEIC/HEIF")
_AVIF = DetectedType("image/avif", "avif", "AVIF")
_MKV = DetectedType("video/x-matroska", "mkv", "Matroska (MKV)")
_DOCM = DetectedType("application/vnd.ms-word.document.macroEnabled.12", "docm", "DOCM (bermakro)")
_XLSM = DetectedType("application/vnd.ms-excel.sheet.macroEnabled.12", "xlsm", "XLSM (bermakro)")
_PPTM = DetectedType(
    "application/vnd.ms-powerpoint.presentation.macroEnabled.12", "pptm", "PPTM (bermakro)"
)
_OLE = DetectedType("application/x-ole-storage", "doc", "dokumen Office lama (DOC/XLS/PPT)")
_SIMPLE_SIGNATURES: tuple[tuple[bytes, DetectedType], ...] = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", _OLE),
    (b"\x7fELF", DetectedType("application/x-executable", "elf", "program (ELF)")),
    (b"Rar!\x1a\x07", DetectedType("application/vnd.rar", "rar", "RAR")),
    (b"7z\xbc\xaf\x27\x1c", DetectedType("application/x-7z-compressed", "7z", "7-Zip")),
    (b"\x1f\x8b", DetectedType("application/gzip", "gz", "GZIP")),
    (b"fLaC", DetectedType("audio/flac", "flac", "FLAC")),
    (b"FLV\x01", DetectedType("video/x-flv", "flv", "Flash Video (FLV)")),
    (b"{\\rtf", DetectedType("application/rtf", "rtf", "RTF")),
    (b"II*\x00", DetectedType("image/tiff", "tif", "TIFF")),
    (b"MM\x00*", DetectedType("image/tiff", "tif", "TIFF")),
)
_RIFF_FORMS = {
    b"WEBP": WEBP,
    b"AVI ": DetectedType("video/x-msvideo", "avi", "AVI"),
    b"WAVE": DetectedType("audio/wav", "wav", "WAV"),
}
_EXE = DetectedType("application/x-msdownload", "exe", "program Windows (EXE)")
_ODF_NAMES = {"text": "odt", "spreadsheet": "ods", "presentation": "odp", "graphics": "odg"}

# --- what each kind accepts ----------------------------------------------------------------

_ACCEPTS: dict[UploadKind, frozenset[str]] = {
    UploadKind.VIDEO: frozenset({"video/mp4", "video/webm", "video/ogg"}),
    UploadKind.DOCUMENT: frozenset({"application/pdf"}),
    UploadKind.COVER: frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"}),
    UploadKind.FILE: frozenset(
        {
            "application/pdf",
            DOCX.mime,
            XLSX.mime,
            PPTX.mime,
            "application/zip",
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "audio/mpeg",
            "audio/mp4",
            "text/plain",
            "text/csv",
            # Accepted as downloads only: delivery never shows them inline.
            "text/html",
            "image/svg+xml",
            "application/xml",
        }
    ),
    UploadKind.SCORM: frozenset({"application/zip"}),
}


def _kind_phrase(kind: UploadKind) -> str:
    return {
        UploadKind.VIDEO: _("aktivitas video"),
        UploadKind.DOCUMENT: _("aktivitas dokumen"),
        UploadKind.COVER: _("gambar sampul"),
        UploadKind.FILE: _("aktivitas berkas"),
        UploadKind.SCORM: _("paket SCORM"),
    }[kind]


def _needs_phrase(kind: UploadKind) -> str:
    return {
        UploadKind.VIDEO: _("MP4, WebM atau Ogg"),
        UploadKind.DOCUMENT: _("PDF"),
        UploadKind.COVER: _("PNG, JPEG, WebP atau GIF"),
        UploadKind.FILE: _(
            "PDF, DOCX/XLSX/PPTX, OpenDocument (ODT/ODS/ODP), ZIP, gambar, audio MP3/M4A "
            "atau teks UTF-8"
        ),
        UploadKind.SCORM: _("arsip ZIP"),
    }[kind]


def kind_from(value: str) -> UploadKind:
    try:
        return UploadKind(value)
    except ValueError:
        raise ValidationFailed(_("Jenis unggahan tidak dikenal."), field="kind") from None


def accepts(kind: UploadKind, detected: DetectedType) -> bool:
    """The kind's list (issue "Uploads"); every OpenDocument type counts as a `file`."""
    mime = base_mime(detected.mime)
    if kind is UploadKind.FILE and mime.startswith("application/vnd.oasis.opendocument."):
        return True
    return mime in _ACCEPTS[kind]


def check_kind(kind: UploadKind | str, head: bytes) -> DetectedType:
    """What `head` (the file's first bytes) is, if `kind` accepts it; else UnsupportedMediaType."""
    upload_kind = kind if isinstance(kind, UploadKind) else kind_from(kind)
    if not head:
        raise ValidationFailed(_("Berkas kosong (0 bita)."), field="file", code="empty_file")
    detected = detect(head)
    if detected is not None and accepts(upload_kind, detected):
        return detected
    values = {"kind": _kind_phrase(upload_kind), "needs": _needs_phrase(upload_kind)}
    if detected is None:
        message = _("Jenis berkas ini tidak dikenali, padahal %(kind)s memerlukan %(needs)s.")
    else:
        values["detected"] = detected.label
        message = _(
            "Berkas ini terdeteksi sebagai %(detected)s, padahal %(kind)s memerlukan %(needs)s."
        )
    raise UnsupportedMediaType(
        message % values,
        detected=detected.mime if detected else None,
        kind=upload_kind.value,
    )


# --- detection -----------------------------------------------------------------------------


def detect(head: bytes) -> DetectedType | None:
    """The type of a file from its first bytes (up to HEAD_BYTES), or None when unknown."""
    if not head:
        return None
    if head.startswith(b"%PDF-"):
        return PDF
    for signature, detected in _SIMPLE_SIGNATURES:
        if head.startswith(signature):
            return detected
    if _is_windows_program(head):
        return _EXE
    if head[:4] == b"RIFF" and head[8:12] in _RIFF_FORMS:
        return _RIFF_FORMS[head[8:12]]
    if head[4:8] == b"ftyp":
        return _iso_media(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _ebml(head)
    if head.startswith(b"OggS"):
        return _ogg(head)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip(head)
    # Acrobat accepts a PDF header anywhere in the first KiB, so do we, but only once every
    # signature at offset 0 has had its say (a zip may store a PDF entry near its start).
    if b"%PDF-" in head[:1024]:
        return PDF
    if _is_mp3(head):
        return MP3
    return _text(head)


# ISO base media (MP4 family): the ftyp box names a major brand and compatible brands.
_MP4_BRANDS = frozenset(
    {
        b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso8", b"iso9",
        b"mp41", b"mp42", b"mp71", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash",
        b"mmp4", b"MSNV", b"NDAS", b"F4V ", b"XAVC",
    }
)  # fmt: skip
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"hevc"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})


def _iso_media(head: bytes) -> DetectedType | None:
    box_size = int.from_bytes(head[:4], "big")
    major = head[8:12]
    end = min(len(head), box_size if 16 <= box_size <= 4096 else 16)
    compatible = {head[i : i + 4] for i in range(16, end - 3, 4)}
    if major in _AVIF_BRANDS:
        return _AVIF
    if major in _HEIF_BRANDS:
        return _HEIF
    if major in _AUDIO_BRANDS:
        return M4A
    if major == b"qt  ":
        return _QUICKTIME
    if major.startswith((b"3gp", b"3g2")):
        return _3GP
    if major in _MP4_BRANDS or compatible & _MP4_BRANDS:
        return MP4
    return None


def _is_windows_program(head: bytes) -> bool:
    # "MZ" alone is too short a signature (a text may start so); the PE header confirms it.
    if not head.startswith(b"MZ") or len(head) < 64:
        return False
    offset = int.from_bytes(head[60:64], "little")
    return head[offset : offset + 4] == b"PE\x00\x00"


def _read_vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-length integer at `pos`: (value, next position), or None if cut off."""
    if pos >= len(data) or data[pos] == 0:
        return None
    first = data[pos]
    length = 8 - first.bit_length() + 1
    if pos + length > len(data):
        return None
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, pos + length


def _ebml(head: bytes) -> DetectedType | None:
    """WebM and Matroska share EBML; the header's DocType element (0x4282) tells them apart."""
    size = _read_vint(head, 4, keep_marker=False)
    if size is None:
        return None
    pos, end = size[1], min(len(head), size[1] + size[0])
    while pos < end:
        element = _read_vint(head, pos, keep_marker=True)
        if element is None:
            return None
        length = _read_vint(head, element[1], keep_marker=False)
        if length is None:
            return None
        data_start, data_end = length[1], length[1] + length[0]
        if element[0] == 0x4282:
            doctype = head[data_start:data_end].rstrip(b"\x00")
            if doctype == b"webm":
                return WEBM
            if doctype == b"matroska":
                return _MKV
            return None
        pos = data_end
    return None


def _ogg(head: bytes) -> DetectedType:
    # The first page carries the first stream's identification header; Theora means video.
    first_page = head[:4096]
    if b"\x80theora" in first_page:
        return OGG_VIDEO
    if any(marker in first_page for marker in (b"\x01vorbis", b"OpusHead", b"\x7fFLAC", b"Speex")):
        return OGG_AUDIO
    return OGG_OTHER


def _is_mp3(head: bytes) -> bool:
    if head.startswith(b"ID3") and len(head) >= 10 and head[3] in (2, 3, 4):
        return True
    # An MPEG audio frame header: 11 sync bits, MPEG version not "reserved", layer III,
    # a valid bitrate and sample rate index.
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0x3, (head[1] >> 1) & 0x3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0x3
    return version != 1 and layer == 1 and bitrate not in (0, 15) and rate != 3


# --- zip: Office Open XML and OpenDocument are zips whose first entries say what they are ----

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_OOXML_MAIN_TYPES: tuple[tuple[str, DetectedType], ...] = (
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", DOCX),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", XLSX),
    ("application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml", PPTX),
    ("application/vnd.ms-word.document.macroEnabled.main+xml", _DOCM),
    ("application/vnd.ms-excel.sheet.macroEnabled.main+xml", _XLSM),
    ("application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml", _PPTM),
)
_MAX_ENTRIES_SCANNED = 64
_MAX_INFLATED = 256 * 1024


def _zip(head: bytes) -> DetectedType:
    """Walk the local file headers in `head`: ODF stores a `mimetype` entry first, OOXML has a
    `[Content_Types].xml` naming its main part. The central directory sits at the archive's end,
    beyond the head; Office and LibreOffice always write these entries first, and an archive
    that hides them further in is just a ZIP to us (which no kind treats as a document)."""
    pos = 0
    for _index in range(_MAX_ENTRIES_SCANNED):
        if pos + _LOCAL_HEADER.size > len(head):
            break
        (sig, _ver, flags, method, _t, _d, _crc, csize, _usize, nlen, xlen) = (
            _LOCAL_HEADER.unpack_from(head, pos)
        )
        if sig != b"PK\x03\x04":
            break
        name = head[pos + 30 : pos + 30 + nlen]
        data_start = pos + 30 + nlen + xlen
        if name == b"mimetype" and method == 0:
            odf = _odf(head[data_start : data_start + csize])
            if odf is not None:
                return odf
        elif name == b"[Content_Types].xml":
            content_types = _inflate(head[data_start:], method)
            for main_type, detected in _OOXML_MAIN_TYPES:
                if main_type.encode() in content_types:
                    return detected
            return ZIP
        if flags & 0x08:  # sizes follow the data in a descriptor: we cannot skip this entry
            break
        pos = data_start + csize
    return ZIP


def _odf(mimetype: bytes) -> DetectedType | None:
    value = mimetype.decode("ascii", "replace").strip()
    prefix = "application/vnd.oasis.opendocument."
    if not value.startswith(prefix) or not re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", value):
        return None
    # Templates ("text-template") and masters share their family's extension.
    extension = _ODF_NAMES.get(value.removeprefix(prefix).split("-")[0])
    if extension is None:
        return DetectedType(value, "odf", "OpenDocument")
    return DetectedType(value, extension, extension.upper())


def _inflate(data: bytes, method: int) -> bytes:
    if method == 0:
        return data[:_MAX_INFLATED]
    if method != 8:
        return b""
    try:
        # Bounded output: a zip bomb in the head cannot make us allocate more than this.
        return zlib.decompressobj(-15).decompress(data, _MAX_INFLATED)
    except zlib.error:
        return b""


# --- text ----------------------------------------------------------------------------------

_HTML_START = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|script|iframe|h1|div|font|table|a|style|title|b|br|p"
    rb"|meta|link|form|object|embed|img)[\s/>]"
)
# Old browsers sniffed HTML anywhere in the first bytes; a text with these tags is treated as HTML.
_DANGEROUS_ANYWHERE = re.compile(rb"<(?:script|iframe|html|body|object|embed)[\s/>]")
_SVG = re.compile(rb"<svg[\s/>]")
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_CSV_DELIMITERS = (b",", b";", b"\t")


def _text(head: bytes) -> DetectedType | None:
    """UTF-8 text without control bytes; markup is named (HTML/SVG/XML) so it is never inline."""
    body = head.removeprefix(codecs.BOM_UTF8)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # A multi-byte character cut at the end of the head is not an error.
        decoder.decode(body, final=len(head) < HEAD_BYTES)
    except UnicodeDecodeError:
        return None
    if _CONTROL.search(body):
        return None
    lowered = body.lower()
    start = _skip_prolog(lowered)
    if start.startswith(b"<svg"):
        return SVG
    if _HTML_START.match(start) or _DANGEROUS_ANYWHERE.search(lowered):
        return HTML
    if _SVG.search(lowered):
        return SVG
    if lowered.lstrip().startswith(b"<?xml") or (start.startswith(b"<") and start[1:2].isalpha()):
        return XML
    if _looks_like_csv(body):
        return CSV
    return TEXT


def _skip_prolog(lowered: bytes) -> bytes:
    """The text after leading whitespace, an XML declaration, comments and a non-HTML doctype."""
    text = lowered.lstrip()
    while True:
        if text.startswith(b"<?xml"):
            closer = b"?>"
        elif text.startswith(b"<!--"):
            closer = b"-->"
        elif text.startswith(b"<!doctype") and not text.startswith(b"<!doctype html"):
            closer = b">"
        else:
            return text
        end = text.find(closer)
        if end < 0:
            return text
        text = text[end + len(closer) :].lstrip()


def _looks_like_csv(body: bytes) -> bool:
    """Two or more complete lines with the same number (> 0) of one delimiter."""
    lines = [line for line in body.splitlines()[:6] if line.strip()]
    if len(body.splitlines()) > 6:
        lines = lines[:5]  # the last line of a cut head may be partial
    if len(lines) < 2:
        return False
    for delimiter in _CSV_DELIMITERS:
        counts = {line.count(delimiter) for line in lines}
        if len(counts) == 1 and counts.pop() > 0:
            return True
    return False
