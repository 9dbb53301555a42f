"""Renders a certificate (STTPL) to PDF with reportlab: background image or vector frame, the
layout's positioned fields in embedded DejaVu fonts, a vector QR code to the verify URL, and
an optional curriculum page.

Everything reusable across documents (fonts, background image XObjects, parsed layouts) is
prepared once per process, so rendering one certificate costs a few milliseconds.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import json
import re
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import segno
from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfdoc, pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from app.certificates import numbering
from app.certificates.layout import (
    DEFAULT_LAYOUT,
    PAGE_HEIGHT_MM,
    PAGE_WIDTH_MM,
    Element,
    Layout,
    display_code,
    placeholders,
    verify_url,
)
from app.core import clock
from app.core.clock import MONTHS_ID, tanggal
from app.core.config import Settings

FONT_DIR = Path(__file__).resolve().parent / "fonts"
_FONT_FILES = {
    ("serif", False, False): ("LmsSerif", "DejaVuSerif.ttf"),
    ("serif", True, False): ("LmsSerif-Bold", "DejaVuSerif-Bold.ttf"),
    ("serif", False, True): ("LmsSerif-Italic", "DejaVuSerif-Italic.ttf"),
    ("serif", True, True): ("LmsSerif-Bold", "DejaVuSerif-Bold.ttf"),
    ("sans", False, False): ("LmsSans", "DejaVuSans.ttf"),
    ("sans", True, False): ("LmsSans-Bold", "DejaVuSans-Bold.ttf"),
    ("sans", False, True): ("LmsSans", "DejaVuSans.ttf"),
    ("sans", True, True): ("LmsSans-Bold", "DejaVuSans-Bold.ttf"),
}

PAGE_W = PAGE_WIDTH_MM * mm
PAGE_H = PAGE_HEIGHT_MM * mm


@dataclass(frozen=True, slots=True)
class CurriculumSection:
    """A mata pelatihan: a course section with its own JP (`jp`), or, on certificates issued
    before sections carried JP, a group of subjects each with theirs."""

    title: str
    subjects: tuple[tuple[str, float], ...] = ()
    jp: float | None = None


@dataclass(frozen=True, slots=True)
class CertificateData:
    """Everything printed on a certificate: plain, picklable values (sent to worker processes)."""

    number: str
    code: str
    holder_name: str
    holder_nip: str | None
    holder_pangkat_golongan: str | None
    holder_jabatan: str | None
    holder_opd: str | None
    course_code: str
    course_title: str
    run_name: str
    run_starts_on: dt.date
    run_ends_on: dt.date
    jp: float
    score: float | None
    predikat: str | None
    issuer: str
    signer_name: str
    signer_nip: str | None
    signer_jabatan: str
    place: str
    issued_on: dt.date
    valid_until: dt.date | None = None
    curriculum: tuple[CurriculumSection, ...] = ()


def rentang_tanggal(start: dt.date, end: dt.date) -> str:
    """A run's dates the Indonesian way: `3–7 Maret 2026`, `28 Februari – 3 Maret 2026`."""
    if start == end:
        return tanggal(start)
    if start.year == end.year and start.month == end.month:
        return f"{start.day}–{tanggal(end)}"
    if start.year == end.year:
        return f"{start.day} {MONTHS_ID[start.month - 1]} – {tanggal(end)}"
    return f"{tanggal(start)} – {tanggal(end)}"


def format_jp(jp: float) -> str:
    """JP without a useless `.0`; fractions with an Indonesian decimal comma."""
    return str(int(jp)) if float(jp).is_integer() else f"{jp:.1f}".replace(".", ",")


def format_score(score: float | None) -> str:
    if score is None:
        return ""
    return f"{score:.2f}".replace(".", ",")


def parse_curriculum(raw: str | None) -> tuple[CurriculumSection, ...]:
    """`[[section, jp], ...]` as stored on the certificate (older ones: `[[section, [[subject,
    jp], ...]], ...]`); bad data -> none."""
    if not raw:
        return ()
    try:
        data = json.loads(raw)
        return tuple(
            CurriculumSection(str(section), jp=float(value))
            if isinstance(value, int | float)
            else CurriculumSection(str(section), tuple((str(s), float(jp)) for s, jp in value))
            for section, value in data
        )
    except (ValueError, TypeError):
        return ()


def field_values(data: CertificateData, settings: Settings) -> dict[str, str]:
    """Every layout field's printed text for one certificate."""
    return {
        "holder_name": data.holder_name,
        "holder_nip": data.holder_nip or "",
        "holder_pangkat_golongan": data.holder_pangkat_golongan or "",
        "holder_jabatan": data.holder_jabatan or "",
        "holder_opd": data.holder_opd or "",
        "course_title": data.course_title,
        "course_code": data.course_code,
        "run_name": data.run_name,
        "run_dates": rentang_tanggal(data.run_starts_on, data.run_ends_on),
        "jp": format_jp(data.jp),
        "predikat": data.predikat or "",
        "score": format_score(data.score),
        "number": data.number,
        "issuer": data.issuer,
        "place": data.place,
        "issued_on": tanggal(data.issued_on),
        "place_date": f"{data.place}, {tanggal(data.issued_on)}",
        "signer_name": data.signer_name,
        "signer_nip": data.signer_nip or "",
        "signer_jabatan": data.signer_jabatan,
        "verify_code": f"Kode verifikasi: {display_code(data.code)}",
        "verify_url": verify_url(data.code, settings),
        "valid_until": tanggal(data.valid_until) if data.valid_until else "",
    }


# --- per-process caches -------------------------------------------------------------------


class _FormatDoc(pdfdoc.DummyDoc):  # type: ignore[misc]
    defaultStreamFilters = None


class _Raw(pdfdoc.PDFObject):  # type: ignore[misc]
    """An already formatted PDF object (bytes), reused across documents."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document: Any) -> bytes:
        return self.data


def _stream_bytes(raw: bytes, extra: dict[str, Any] | None = None) -> bytes:
    stream = pdfdoc.PDFStream()
    stream.content = zlib.compress(raw, 6)
    stream.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
    for key, value in (extra or {}).items():
        stream.dictionary[key] = value
    formatted: bytes = stream.format(_FormatDoc())
    return formatted


class CachedTTFont(TTFont):  # type: ignore[misc]
    """reportlab's TTFont, with each font subset's PDF objects (glyph subset, widths, ToUnicode
    map) formatted once per process. Printable ASCII always sits in subset 0, so every
    certificate whose text uses the same non-ASCII characters shares the cached subset."""

    _max_cached = 256

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        self._parts: dict[tuple[str, tuple[int, ...]], tuple[_Raw, _Raw, _Raw]] = {}

    def _subset_parts(self, base_name: str, subset: tuple[int, ...]) -> tuple[_Raw, _Raw, _Raw]:
        key = (base_name, subset)
        parts = self._parts.get(key)
        if parts is None:
            face = self.face
            widths = pdfdoc.PDFArray([face.getCharWidth(code) for code in subset]).format(
                _FormatDoc()
            )
            to_unicode = _stream_bytes(
                ttfonts.makeToUnicodeCMap(base_name, list(subset)).encode("latin-1")
            )
            glyphs = face.makeSubset(list(subset))
            font_file = _stream_bytes(glyphs, {"Length1": len(glyphs)})
            parts = (_Raw(widths), _Raw(to_unicode), _Raw(font_file))
            if len(self._parts) >= self._max_cached:
                self._parts.clear()
            self._parts[key] = parts
        return parts

    def addObjects(self, doc: Any) -> None:
        state = self.state.get(doc) or self._assignState(doc)
        state.frozen = 1
        face = self.face
        flags = (face.flags & ~ttfonts.FF_NONSYMBOLIC) | ttfonts.FF_SYMBOLIC
        for n, subset in enumerate(state.subsets):
            internal_name = self.getSubsetInternalName(n, doc)[1:]
            base_name = b"".join((ttfonts.SUBSETN(n), b"+", face.name, face.subfontNameX)).decode(
                "pdfdoc"
            )
            widths, to_unicode, font_file = self._subset_parts(base_name, tuple(subset))
            pdf_font = pdfdoc.PDFTrueTypeFont()
            pdf_font.__Comment__ = f"Font {self.fontName} subset {n}"
            pdf_font.Name = internal_name
            pdf_font.BaseFont = base_name
            pdf_font.FirstChar = 0
            pdf_font.LastChar = len(subset) - 1
            # Fresh wrappers per document: reportlab stamps each object with its id there.
            pdf_font.Widths = _Raw(widths.data)
            pdf_font.ToUnicode = doc.Reference(_Raw(to_unicode.data), "toUnicodeCMap:" + base_name)
            font_file_ref = doc.Reference(
                _Raw(font_file.data), f"fontFile:{face.filename}({base_name})"
            )
            descriptor = pdfdoc.PDFDictionary(
                {
                    "Type": "/FontDescriptor",
                    "Ascent": face.ascent,
                    "CapHeight": face.capHeight,
                    "Descent": face.descent,
                    "Flags": flags,
                    "FontBBox": pdfdoc.PDFArray(face.bbox),
                    "FontName": pdfdoc.PDFName(base_name),
                    "ItalicAngle": face.italicAngle,
                    "StemV": face.stemV,
                    "FontFile2": font_file_ref,
                    "MissingWidth": face.defaultWidth,
                }
            )
            pdf_font.FontDescriptor = doc.Reference(descriptor, "fontDescriptor:" + base_name)
            doc.Reference(pdf_font, internal_name)
            doc.idToObject["BasicFonts"].dict[internal_name] = pdf_font
        del self.state[doc]


_fonts_lock = threading.Lock()
_fonts_ready = False


def register_fonts() -> None:
    """Register the vendored TTFs with reportlab once per process."""
    global _fonts_ready
    if _fonts_ready:
        return
    with _fonts_lock:
        if _fonts_ready:
            return
        # A85 only makes streams bigger and slower; we never need 7-bit-clean PDFs.
        rl_config.useA85 = 0
        for name, filename in set(_FONT_FILES.values()):
            pdfmetrics.registerFont(CachedTTFont(name, str(FONT_DIR / filename)))
        _fonts_ready = True


def font_name(element: Element) -> str:
    return _FONT_FILES[(element.font, element.bold, element.italic)][0]


@dataclass(slots=True)
class Background:
    """A background image prepared once as a PDF image XObject (compressed pixels or JPEG)."""

    sha256: str
    xobject: pdfdoc.PDFImageXObject
    name: str


@dataclass(frozen=True, slots=True)
class RenderTemplate:
    """A template ready to render: its layout and (optionally) background bytes' identity."""

    layout: Layout
    background: bytes | None = None
    background_sha256: str | None = None
    key: str = "default"  # identifies (template id, version) in caches and logs
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


DEFAULT_TEMPLATE = RenderTemplate(DEFAULT_LAYOUT)

_backgrounds: dict[str, Background] = {}
_backgrounds_lock = threading.Lock()


def prepare_background(data: bytes, sha256: str | None = None) -> Background:
    """Decode once per process: JPEG bytes pass through as DCT; PNG is flattened on white and
    Flate-compressed. Reused by every document this process renders."""
    sha = sha256 or hashlib.sha256(data).hexdigest()
    with _backgrounds_lock:
        cached = _backgrounds.get(sha)
        if cached is not None:
            return cached
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.load()
        xobj = pdfdoc.PDFImageXObject(f"bg{sha[:16]}")
        if img.format == "JPEG" and img.mode in ("RGB", "L", "CMYK"):
            xobj.streamContent = data
            xobj._filters = ("DCTDecode",)
            xobj.colorSpace = {"RGB": "DeviceRGB", "L": "DeviceGray", "CMYK": "DeviceCMYK"}[
                img.mode
            ]
            if img.mode == "CMYK":
                xobj._dotrans = 1  # Adobe JPEGs store inverted CMYK
        else:
            rgba = img.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            xobj.streamContent = zlib.compress(flat.tobytes(), 6)
            xobj._filters = ("FlateDecode",)
            xobj.colorSpace = "DeviceRGB"
        xobj.width, xobj.height = img.size
        xobj.bitsPerComponent = 8
        xobj.mask = None
    background = Background(sha, xobj, xobj.name)
    with _backgrounds_lock:
        if len(_backgrounds) > 16:  # a handful of templates per institution
            _backgrounds.clear()
        _backgrounds[sha] = background
    return background


def _draw_background(c: Canvas, background: Background) -> None:
    # canvas.drawImage re-reads and re-compresses the pixels for every document; registering
    # the prepared XObject directly costs nothing.
    doc = c._doc
    reg_name = doc.getXObjectName(background.name)
    if reg_name not in doc.idToObject:
        # A shallow copy per document (reportlab stamps the object with its id in that
        # document); the compressed pixels are shared.
        xobject = copy.copy(background.xobject)
        c._setXObjects(xobject)
        doc.Reference(xobject, reg_name)
        doc.addForm(background.name, xobject)
    c.saveState()
    c.scale(PAGE_W, PAGE_H)
    c._code.append(f"/{reg_name} Do")
    c.restoreState()
    c._formsinuse.append(background.name)
    c._currentPageHasImages = 1


# --- drawing ------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _color(hex_color: str) -> Color:
    return HexColor(hex_color)


_SEPARATORS = re.compile(r"^[\s—–,/-]+|[\s—–,/-]+$")


def element_text(element: Element, values: dict[str, str]) -> str:
    """The text an element prints, or "" when its data is empty."""
    if element.kind == "field":
        value = values.get(element.field or "", "")
        if not value:
            return ""
        text = f"{element.prefix}{value}{element.suffix}"
    elif element.kind == "text":
        assert element.text is not None
        names = placeholders(element.text)
        if names and element.hide_if_empty and not any(values.get(n) for n in names):
            return ""
        text = element.text.format_map({n: values.get(n, "") for n in names})
        if names:
            # "{pangkat} — {jabatan}" with one side missing must not print a dangling dash.
            text = re.sub(r"\s*[—–]\s*[—–]\s*", " — ", text)
            text = _SEPARATORS.sub("", text) if text.strip() != element.text.strip() else text
            text = f"{element.prefix}{text}{element.suffix}"
    else:
        return ""
    return text.upper() if element.upper else text


def _draw_line(c: Canvas, text: str, font: str, size: float, element: Element, y: float) -> None:
    x = element.x * mm
    box = element.width * mm
    c.setFont(font, size)
    if element.align == "center":
        c.drawCentredString(x + box / 2, y, text)
    elif element.align == "right":
        c.drawRightString(x + box, y, text)
    else:
        c.drawString(x, y, text)


def _draw_text(c: Canvas, element: Element, text: str) -> None:
    font = font_name(element)
    size = element.size
    box = element.width * mm
    c.setFillColor(_color(element.color))
    baseline = PAGE_H - element.y * mm
    if box <= 0:
        _draw_line(c, text, font, size, element, baseline)
        return
    if element.wrap:
        lines = simpleSplit(text, font, size, box)
        while len(lines) > element.max_lines and size > element.size * 0.6:
            size *= 0.93
            lines = simpleSplit(text, font, size, box)
        lines = lines[: element.max_lines]
        for index, line in enumerate(lines):
            width = pdfmetrics.stringWidth(line, font, size)
            line_size = size * box / width if width > box else size
            _draw_line(
                c, line, font, line_size, element, baseline - index * size * element.line_height
            )
        return
    width = pdfmetrics.stringWidth(text, font, size)
    if width > box:
        size = size * box / width
    _draw_line(c, text, font, size, element, baseline)


@lru_cache(maxsize=8)
def _qr_version(length: int) -> int:
    return int(segno.make("x" * length, error="m", micro=False, boost_error=False).version)


def _draw_qr(c: Canvas, element: Element, url: str) -> None:
    """Vector QR (error level M, fixed mask: scoring all eight masks costs more than the rest
    of the page and any mask decodes). Runs of dark modules become one rectangle each,
    written as raw operators (reportlab's per-number formatting is the slow part)."""
    qr = segno.make(url, error="m", micro=False, mask=4, boost_error=False)
    matrix = qr.matrix
    n = len(matrix)
    quiet = 2
    side = element.size * mm
    module = side / (n + 2 * quiet)
    left = element.x * mm
    top = PAGE_H - element.y * mm
    ops = [f"q 1 g {left:.3f} {top - side:.3f} {side:.3f} {side:.3f} re f 0 g"]
    for row_index, row in enumerate(matrix):
        y = top - (quiet + row_index + 1) * module
        col = 0
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                # A hair of overlap stops viewers drawing white seams between modules.
                ops.append(
                    f"{left + (quiet + start) * module:.3f} {y - 0.02:.3f} "
                    f"{(col - start) * module + 0.02:.3f} {module + 0.04:.3f} re"
                )
            else:
                col += 1
    ops.append("f Q")
    c._code.append("\n".join(ops))


def _draw_frame(c: Canvas, accent: str) -> None:
    """The default decoration when a template has no background: a double frame with corners."""
    colour = _color(accent)
    gold = _color("#b8912f")
    c.setStrokeColor(colour)
    c.setLineWidth(3)
    c.rect(9 * mm, 9 * mm, PAGE_W - 18 * mm, PAGE_H - 18 * mm, stroke=1, fill=0)
    c.setStrokeColor(gold)
    c.setLineWidth(0.9)
    c.rect(12 * mm, 12 * mm, PAGE_W - 24 * mm, PAGE_H - 24 * mm, stroke=1, fill=0)
    c.setFillColor(colour)
    for cx, cy in (
        (12, 12),
        (PAGE_WIDTH_MM - 12, 12),
        (12, PAGE_HEIGHT_MM - 12),
        (PAGE_WIDTH_MM - 12, PAGE_HEIGHT_MM - 12),
    ):
        path = c.beginPath()
        path.moveTo(cx * mm, (cy - 3.2) * mm)
        path.lineTo((cx + 3.2) * mm, cy * mm)
        path.lineTo(cx * mm, (cy + 3.2) * mm)
        path.lineTo((cx - 3.2) * mm, cy * mm)
        path.close()
        c.drawPath(path, stroke=0, fill=1)


def _draw_page(
    c: Canvas,
    template: RenderTemplate,
    background: Background | None,
    values: dict[str, str],
    url: str,
) -> None:
    layout = template.layout
    if background is not None:
        _draw_background(c, background)
    elif layout.border:
        _draw_frame(c, layout.accent_color)
    for element in layout.elements:
        if element.kind == "qr":
            _draw_qr(c, element, url)
        elif element.kind == "line":
            c.setStrokeColor(_color(element.color))
            c.setLineWidth(0.6)
            y = PAGE_H - element.y * mm
            c.line(element.x * mm, y, (element.x + element.width) * mm, y)
        else:
            text = element_text(element, values)
            if text:
                _draw_text(c, element, text)


def _draw_curriculum(c: Canvas, data: CertificateData, layout: Layout, *, frame: bool) -> None:
    """The second page: each section's subjects and their JP, continued on further pages."""
    serif, bold, sans = "LmsSerif", "LmsSerif-Bold", "LmsSans"
    accent = _color(layout.accent_color)
    left, right = 30 * mm, PAGE_W - 30 * mm
    jp_col = right - 30 * mm
    row_h = 6.4 * mm
    rows: list[tuple[str, str, str]] = []  # (kind, text, jp)
    number = 0
    total = 0.0
    for section in data.curriculum:
        if section.jp is not None:  # a mata pelatihan with its JP
            number += 1
            rows.append(("item", f"{number}. {section.title}", format_jp(section.jp)))
            total += section.jp
            continue
        rows.append(("section", section.title, ""))
        for subject, jp in section.subjects:
            number += 1
            rows.append(("subject", f"{number}. {subject}", format_jp(jp)))
            total += jp

    def header(continued: bool) -> Any:
        if frame:
            _draw_frame(c, layout.accent_color)
        c.setFillColor(accent)
        c.setFont(bold, 16)
        title = "KURIKULUM PELATIHAN" + (" (lanjutan)" if continued else "")
        c.drawCentredString(PAGE_W / 2, PAGE_H - 25 * mm, title)
        c.setFillColorRGB(0, 0, 0)
        c.setFont(serif, 11)
        course = f"{data.course_title} — {data.run_name}"
        size = 11.0
        width = pdfmetrics.stringWidth(course, serif, size)
        if width > right - left:
            size = size * (right - left) / width
        c.setFont(serif, size)
        c.drawCentredString(PAGE_W / 2, PAGE_H - 33 * mm, course)
        c.setFont(sans, 8.5)
        c.drawCentredString(PAGE_W / 2, PAGE_H - 39 * mm, f"Nomor sertifikat: {data.number}")
        y = PAGE_H - 50 * mm
        c.setFillColor(accent)
        c.rect(left, y - 2 * mm, right - left, row_h, stroke=0, fill=1)
        c.setFillColorRGB(1, 1, 1)
        c.setFont(bold, 10.5)
        c.drawString(left + 3 * mm, y, "Mata Pelatihan")
        c.drawRightString(right - 3 * mm, y, "JP")
        c.setFillColorRGB(0, 0, 0)
        return y - row_h

    y = header(False)
    c.setStrokeColor(_color("#999999"))
    c.setLineWidth(0.4)
    for kind, text, jp_text in rows:
        if y < 25 * mm:
            c.showPage()
            y = header(True)
            c.setStrokeColor(_color("#999999"))
            c.setLineWidth(0.4)
        font = bold if kind == "section" else serif
        size = 10.5 if kind == "section" else 10.0
        indent = 8 * mm if kind == "subject" else 3 * mm
        max_width = jp_col - left - indent - 2 * mm
        width = pdfmetrics.stringWidth(text, font, size)
        if width > max_width:
            size = max(6.0, size * max_width / width)
        c.setFont(font, size)
        c.drawString(left + indent, y, text)
        if jp_text:
            c.setFont(serif, 10)
            c.drawRightString(right - 3 * mm, y, jp_text)
        c.line(left, y - 2 * mm, right, y - 2 * mm)
        y -= row_h
    c.setFont(bold, 10.5)
    c.drawString(left + 3 * mm, y, "Jumlah")
    c.drawRightString(right - 3 * mm, y, format_jp(total))


def background_for(template: RenderTemplate) -> Background | None:
    if template.background is None:
        return None
    return prepare_background(template.background, template.background_sha256)


def render(data: CertificateData, template: RenderTemplate, settings: Settings) -> bytes:
    """One unsigned certificate PDF (page 1 the STTPL, then the curriculum if it has one)."""
    register_fonts()
    background = background_for(template)
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=(PAGE_W, PAGE_H), pageCompression=1, initialFontName="LmsSerif")
    c.setTitle(f"Sertifikat {data.number} — {data.holder_name}")
    c.setAuthor(data.issuer)
    c.setSubject(data.course_title)
    c.setCreator("LMS Diklat ASN")
    # Plain-text copies of the number (title) and verify link (keywords) let the upload check
    # find the record a signed file belongs to without decoding the QR code.
    c.setKeywords(f"verifikasi {verify_url(data.code, settings)}")
    values = field_values(data, settings)
    _draw_page(c, template, background, values, verify_url(data.code, settings))
    c.showPage()
    if data.curriculum:
        _draw_curriculum(
            c, data, template.layout, frame=background is None and template.layout.border
        )
        c.showPage()
    c.save()
    return buffer.getvalue()


def sample_data(settings: Settings, *, curriculum: bool = True) -> CertificateData:
    """Made-up certificate for template previews (a name with an apostrophe and a diacritic)."""
    today = clock.today()
    return CertificateData(
        number=numbering.format_number(
            settings.cert_number_template, seq=1, course_code="PLT-001", issued_on=today
        ),
        code="SAMPLE0000000000000000000000000000",
        holder_name="Ni Luh Putu Ayu Ma'rifah Sukmawatì, S.Kom.",
        holder_nip="199001012015032001",
        holder_pangkat_golongan="Penata Muda Tk. I (III/b)",
        holder_jabatan="Analis Sumber Daya Manusia Aparatur",
        holder_opd="Dinas Komunikasi dan Informatika",
        course_code="PLT-001",
        course_title="Pelatihan Penyusunan Sasaran Kinerja Pegawai (SKP) Berbasis Kinerja Organisasi",
        run_name="Angkatan I",
        run_starts_on=today - dt.timedelta(days=12),
        run_ends_on=today - dt.timedelta(days=8),
        jp=20,
        score=86.5,
        predikat="Memuaskan",
        issuer=settings.institution_name,
        signer_name=settings.cert_signer_name,
        signer_nip=settings.cert_signer_nip or "197001011995031001",
        signer_jabatan=settings.cert_signer_jabatan,
        place=settings.cert_place,
        issued_on=today,
        curriculum=(
            CurriculumSection("Wawasan Kebangsaan", jp=2),
            CurriculumSection("Etika Publik", jp=2),
            CurriculumSection("Konsep Manajemen Kinerja", jp=4),
            CurriculumSection("Penyusunan SKP", jp=6),
            CurriculumSection("Praktik dan Evaluasi", jp=6),
        )
        if curriculum
        else (),
    )


def page_count(pdf: bytes) -> int:
    """Pages in a PDF we rendered (reportlab writes `/Type /Page` once per page)."""
    return len(re.findall(rb"/Type /Page\b", pdf))


__all__: Sequence[str] = (
    "DEFAULT_TEMPLATE",
    "CertificateData",
    "CurriculumSection",
    "RenderTemplate",
    "field_values",
    "format_jp",
    "parse_curriculum",
    "register_fonts",
    "render",
    "rentang_tanggal",
    "sample_data",
    "tanggal",
)
