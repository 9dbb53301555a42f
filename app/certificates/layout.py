"""The certificate layout: positioned elements on an A4 landscape page (millimetres from the top
left), the fixed list of fields they may show, the default LAN-style STTPL and validation.

Also owns the verification URL and the grouped display form of a verification code.
"""

from __future__ import annotations

import json
import re
import string
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.core.config import Settings
from app.core.errors import ValidationFailed
from app.core.i18n import gettext_ as _

PAGE_WIDTH_MM = 297.0
PAGE_HEIGHT_MM = 210.0

# Values an element may show; each maps to the certificate snapshot (see pdf.fields_for).
FIELDS: dict[str, str] = {
    "holder_name": "Nama peserta",
    "holder_nip": "NIP peserta",
    "holder_pangkat_golongan": "Pangkat/golongan",
    "holder_jabatan": "Jabatan",
    "holder_opd": "Unit kerja (OPD)",
    "course_title": "Judul pelatihan",
    "course_code": "Kode pelatihan",
    "run_name": "Angkatan",
    "run_dates": "Tanggal pelaksanaan",
    "jp": "Jumlah JP",
    "predikat": "Predikat",
    "score": "Nilai akhir",
    "number": "Nomor sertifikat",
    "issuer": "Instansi penerbit",
    "place": "Tempat terbit",
    "issued_on": "Tanggal terbit",
    "place_date": "Tempat, tanggal terbit",
    "signer_name": "Nama penandatangan",
    "signer_nip": "NIP penandatangan",
    "signer_jabatan": "Jabatan penandatangan",
    "verify_code": "Kode verifikasi",
    "verify_url": "Alamat verifikasi",
    "valid_until": "Berlaku sampai",
}

Kind = Literal["field", "text", "qr", "line"]
Align = Literal["left", "center", "right"]
FontFamily = Literal["serif", "sans"]

_COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")


class Element(BaseModel):
    """One positioned thing on the page.

    - field: the value of `field` (optionally wrapped by `prefix`/`suffix`);
    - text: fixed words, where `{field}` placeholders are replaced ("selama {jp} JP");
    - qr: the verification QR code, `size` mm square at (x, y) top-left;
    - line: a horizontal rule `width` mm long (signature line, separators).

    `x` is the left edge of a `width`-wide box (text is aligned inside it; width 0 means x is
    the anchor itself); `y` is the text baseline. Too-long text shrinks to fit `width`, or
    wraps over up to `max_lines` lines when `wrap` is set."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind = "field"
    field: str | None = None
    text: str | None = None
    prefix: str = ""
    suffix: str = ""
    x: float = Field(ge=0, le=PAGE_WIDTH_MM)
    y: float = Field(ge=0, le=PAGE_HEIGHT_MM)
    width: float = Field(default=0, ge=0, le=PAGE_WIDTH_MM)
    size: float = Field(default=12, ge=4, le=96)  # font size in points; QR side in mm
    align: Align = "left"
    font: FontFamily = "serif"
    bold: bool = False
    italic: bool = False
    upper: bool = False
    color: str = "#000000"
    wrap: bool = False
    max_lines: int = Field(default=2, ge=1, le=6)
    line_height: float = Field(default=1.25, ge=0.8, le=3)
    hide_if_empty: bool = True

    @field_validator("color")
    @classmethod
    def _color(cls, value: str) -> str:
        if not _COLOR_RE.fullmatch(value):
            raise ValueError("warna harus berbentuk #RRGGBB")
        return value.lower()

    @model_validator(mode="after")
    def _consistent(self) -> Element:
        if self.kind == "field":
            if not self.field:
                raise ValueError("elemen 'field' memerlukan nama isian (field)")
            if self.field not in FIELDS:
                raise ValueError(f"isian tidak dikenal: {self.field!r}")
        if self.kind == "text":
            if not self.text:
                raise ValueError("elemen 'text' memerlukan teks")
            for name in placeholders(self.text):
                if name not in FIELDS:
                    raise ValueError(f"isian tidak dikenal dalam teks: {{{name}}}")
        if self.kind == "qr" and (self.size < 12 or self.size > 80):
            raise ValueError("ukuran QR harus 12–80 mm")
        if self.kind == "qr" and (
            self.x + self.size > PAGE_WIDTH_MM or self.y + self.size > PAGE_HEIGHT_MM
        ):
            raise ValueError("QR keluar dari halaman")
        if self.kind == "line" and self.width <= 0:
            raise ValueError("garis memerlukan lebar (width) > 0")
        if self.x + self.width > PAGE_WIDTH_MM + 0.01:
            raise ValueError("kotak elemen keluar dari halaman (x + width > 297 mm)")
        return self


class Layout(BaseModel):
    """A whole page: its elements in drawing order, plus the curriculum page's look."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    elements: list[Element] = Field(min_length=1, max_length=80)
    border: bool = True  # vector frame drawn when the template has no background image
    accent_color: str = "#1f3b73"

    @field_validator("accent_color")
    @classmethod
    def _accent(cls, value: str) -> str:
        if not _COLOR_RE.fullmatch(value):
            raise ValueError("warna harus berbentuk #RRGGBB")
        return value.lower()

    @model_validator(mode="after")
    def _one_qr(self) -> Layout:
        if sum(1 for e in self.elements if e.kind == "qr") > 1:
            raise ValueError("paling banyak satu QR per halaman")
        return self


def placeholders(text: str) -> list[str]:
    """The `{name}` placeholders in a text element (format specs are not allowed)."""
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"kurung kurawal tidak seimbang dalam teks: {exc}") from None
    for _literal, name, spec, conv in parsed:
        if name is None:
            continue
        if spec or conv or not name.isidentifier():
            raise ValueError(f"placeholder tidak valid: {{{name}}}")
        names.append(name)
    return names


def _loc(loc: tuple[int | str, ...], data: Any) -> str:
    """`elements[3].x (holder_name)` — the path plus the element's field so editors find it."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    if (
        len(loc) >= 2
        and loc[0] == "elements"
        and isinstance(loc[1], int)
        and isinstance(data, dict)
    ):
        try:
            element = data["elements"][loc[1]]
            label = element.get("field") or element.get("kind") or ""
            if label:
                out += f" ({label})"
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
    return out


def parse_layout(raw: str | bytes | dict[str, Any]) -> Layout:
    """Validate a layout (JSON text or dict); errors name each offending element and field."""
    data: Any
    if isinstance(raw, str | bytes):
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ValidationFailed(
                _("Tata letak bukan JSON yang valid: %(exc)s") % {"exc": exc},
                field="layout_json",
                code="invalid_layout",
            ) from None
    else:
        data = raw
    try:
        return Layout.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": _loc(tuple(err["loc"]), data) or "layout", "message": _message(err)}
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise ValidationFailed(
            _("Tata letak tidak valid — %(detail)s") % {"detail": detail},
            errors=errors,
            code="invalid_layout",
        ) from None


def _message(err: Any) -> str:
    """Pydantic's error in the editor's language (Indonesian) for the usual mistakes."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    known = {
        "extra_forbidden": "atribut tidak dikenal",
        "missing": "wajib diisi",
        "less_than_equal": f"harus ≤ {ctx.get('le')}",
        "greater_than_equal": f"harus ≥ {ctx.get('ge')}",
        "greater_than": f"harus > {ctx.get('gt')}",
        "literal_error": f"harus salah satu dari {ctx.get('expected')}",
        "float_parsing": "harus berupa angka",
        "float_type": "harus berupa angka",
        "int_parsing": "harus berupa bilangan bulat",
        "bool_parsing": "harus true atau false",
        "string_type": "harus berupa teks",
        "list_type": "harus berupa daftar (array)",
        "too_short": "tidak boleh kosong",
        "too_long": "terlalu banyak elemen",
        "model_type": "harus berupa objek JSON",
        "model_attributes_type": "harus berupa objek JSON",
    }
    if kind in known:
        return known[kind]
    return str(err.get("msg", "")).removeprefix("Value error, ")


def _tidy(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    return value


def layout_json(layout: Layout) -> str:
    """Canonical JSON for storage and the editor: one line per element, defaults left out."""
    data = _tidy(layout.model_dump(mode="json", exclude_defaults=True))
    elements = data.pop("elements")
    head = "".join(
        f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},\n" for k, v in data.items()
    )
    body = ",\n".join(f"    {json.dumps(e, ensure_ascii=False)}" for e in elements)
    return "{\n" + head + '  "elements": [\n' + body + "\n  ]\n}"


def verify_url(code: str, settings: Settings) -> str:
    """The public verification page a certificate's QR code points to."""
    return settings.absolute_url(f"/verify/{code}")


def display_code(code: str, group: int = 4) -> str:
    """A verification code grouped for reading aloud or typing: `ABCD-EFGH-...`."""
    clean = code.replace("-", "").upper()
    return "-".join(clean[i : i + group] for i in range(0, len(clean), group))


def _e(**kw: Any) -> dict[str, Any]:
    return kw


# LAN-style STTPL (Surat Tanda Tamat Pelatihan) on A4 landscape: 297 x 210 mm, centred text
# between 20 mm margins, signer block bottom right, QR and verification code bottom left.
_C = {"x": 20, "width": 257, "align": "center"}
DEFAULT_LAYOUT_DICT: dict[str, Any] = {
    "version": 1,
    "border": True,
    "accent_color": "#1f3b73",
    "elements": [
        _e(
            kind="field",
            field="issuer",
            y=32,
            size=15,
            bold=True,
            upper=True,
            font="sans",
            color="#1f3b73",
            **_C,
        ),
        _e(kind="text", text="SERTIFIKAT", y=52, size=34, bold=True, color="#1f3b73", **_C),
        _e(kind="line", x=110, y=56, width=77, color="#b8912f"),
        _e(kind="text", text="SURAT TANDA TAMAT PELATIHAN", y=61, size=12, font="sans", **_C),
        _e(kind="field", field="number", prefix="Nomor: ", y=68, size=10.5, font="sans", **_C),
        _e(kind="text", text="diberikan kepada:", y=80, size=12, italic=True, **_C),
        _e(kind="field", field="holder_name", y=94, size=26, bold=True, **_C),
        _e(kind="text", text="NIP {holder_nip}", y=102, size=11, font="sans", **_C),
        _e(
            kind="text",
            text="{holder_pangkat_golongan} — {holder_jabatan}",
            y=108,
            size=11,
            font="sans",
            **_C,
        ),
        _e(kind="field", field="holder_opd", y=114, size=11, font="sans", **_C),
        _e(
            kind="text", text="telah mengikuti dan menyelesaikan", y=125, size=12, italic=True, **_C
        ),
        _e(
            kind="field",
            field="course_title",
            y=134,
            size=17,
            bold=True,
            wrap=True,
            max_lines=2,
            x=30,
            width=237,
            align="center",
        ),
        _e(
            kind="text",
            text="yang diselenggarakan pada {run_dates} selama {jp} jam pelajaran (JP)",
            y=150,
            size=11.5,
            **_C,
        ),
        _e(kind="text", text="dengan predikat {predikat}", y=157, size=11.5, bold=True, **_C),
        _e(kind="qr", x=22, y=160, size=28),
        _e(
            kind="text",
            text="Pindai untuk verifikasi",
            x=22,
            y=192,
            size=7,
            font="sans",
            width=28,
            align="center",
        ),
        _e(kind="field", field="verify_code", x=22, y=196, size=6.5, font="sans", width=60),
        _e(kind="field", field="place_date", x=190, y=166, width=90, size=11, align="center"),
        _e(
            kind="field",
            field="signer_jabatan",
            x=190,
            y=172,
            width=90,
            size=10,
            align="center",
            wrap=True,
            max_lines=2,
        ),
        _e(kind="line", x=205, y=193, width=60, color="#444444"),
        _e(
            kind="field",
            field="signer_name",
            x=190,
            y=191,
            width=90,
            size=11,
            bold=True,
            align="center",
        ),
        _e(
            kind="field",
            field="signer_nip",
            prefix="NIP ",
            x=190,
            y=198,
            width=90,
            size=10,
            align="center",
            font="sans",
        ),
    ],
}
DEFAULT_LAYOUT: Layout = Layout.model_validate(DEFAULT_LAYOUT_DICT)
