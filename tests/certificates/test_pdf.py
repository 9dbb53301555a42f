"""Certificate rendering: Indonesian names survive (embedded fonts, text extraction), the QR code
decodes to the verify URL, the curriculum page lists subjects and JP, layouts are validated with
errors that name the element, and a background image is drawn."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app.certificates import layout, pdf
from app.core.errors import ValidationFailed

POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm") and shutil.which("pdffonts")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils not installed")

NAMES = [
    "Ni Luh Putu Ayu Ma'rifah Sukmawatì",
    "Muhammad Nur’aini Siregar",  # typographic apostrophe
    "Théresia D'Costa Hutagalung",
    "I Gusti Ngurah Ketut Sudiartà, S.Kom., M.Si.",
]


def _text(data: bytes, tmp_path: Path, name: str = "c.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def _decode_qr(data: bytes, tmp_path: Path) -> list[str]:
    import zxingcpp
    from PIL import Image

    path = tmp_path / "qr.pdf"
    path.write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", str(path), str(tmp_path / "page")],
        check=True,
    )
    png = next(tmp_path.glob("page*.png"))
    with Image.open(png) as image:
        return [r.text for r in zxingcpp.read_barcodes(image)]


@needs_poppler
@pytest.mark.parametrize("name", NAMES)
def test_indonesian_names_render_and_extract(settings, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    data = dataclasses.replace(pdf.sample_data(settings, curriculum=False), holder_name=name)
    text = _text(pdf.render(data, pdf.DEFAULT_TEMPLATE, settings), tmp_path)
    assert name in text
    assert "SERTIFIKAT" in text
    assert "diberikan kepada" in text
    assert "dengan predikat Memuaskan" in text


@needs_poppler
def test_fonts_are_embedded(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "f.pdf"
    path.write_bytes(pdf.render(pdf.sample_data(settings), pdf.DEFAULT_TEMPLATE, settings))
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    rows = [line for line in out.splitlines()[2:] if line.strip()]
    assert rows and all(" yes " in row and "DejaVu" in row for row in rows), out


@needs_poppler
def test_qr_decodes_to_the_verify_url(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = dataclasses.replace(pdf.sample_data(settings), code="7KQ2M9XPA4RT8VWC3NBD5FGH6JLZ")
    found = _decode_qr(pdf.render(data, pdf.DEFAULT_TEMPLATE, settings), tmp_path)
    assert found == [f"{settings.base_url}/verify/7KQ2M9XPA4RT8VWC3NBD5FGH6JLZ"]
    assert layout.verify_url(data.code, settings) == found[0]


@needs_poppler
def test_page_shows_snapshot_fields_and_grouped_code(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = pdf.sample_data(settings, curriculum=False)
    text = _text(pdf.render(data, pdf.DEFAULT_TEMPLATE, settings), tmp_path)
    for value in (
        data.number,
        f"NIP {data.holder_nip}",
        data.holder_pangkat_golongan,
        data.holder_opd,
        data.signer_name,
        f"{data.place}, {pdf.tanggal(data.issued_on)}",
        "selama 20 jam pelajaran (JP)",
        layout.display_code(data.code)[:14],
    ):
        assert value and value in text, value


@needs_poppler
def test_curriculum_page_lists_subjects_and_total(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = pdf.sample_data(settings, curriculum=True)
    text = _text(pdf.render(data, pdf.DEFAULT_TEMPLATE, settings), tmp_path)
    page2 = text.split("\f")[1]
    assert "KURIKULUM PELATIHAN" in page2
    assert "1. Wawasan Kebangsaan" in page2 and "4. Penyusunan SKP" in page2
    assert "Jumlah" in page2 and "20" in page2


def test_long_curriculum_continues_on_more_pages(settings) -> None:  # type: ignore[no-untyped-def]
    sections = tuple(
        pdf.CurriculumSection(f"Bagian {i}", tuple((f"Materi {i}.{j}", 1.0) for j in range(8)))
        for i in range(8)
    )
    data = dataclasses.replace(pdf.sample_data(settings), curriculum=sections)
    rendered = pdf.render(data, pdf.DEFAULT_TEMPLATE, settings)
    assert pdf.page_count(rendered) >= 3


def test_missing_identity_fields_leave_no_dangling_separator(settings) -> None:  # type: ignore[no-untyped-def]
    data = dataclasses.replace(
        pdf.sample_data(settings, curriculum=False), holder_pangkat_golongan=None
    )
    values = pdf.field_values(data, settings)
    element = next(
        e for e in layout.DEFAULT_LAYOUT.elements if e.text and "{holder_jabatan}" in e.text
    )
    assert pdf.element_text(element, values) == data.holder_jabatan
    empty = dataclasses.replace(data, holder_jabatan=None)
    assert pdf.element_text(element, pdf.field_values(empty, settings)) == ""


def test_indonesian_dates_and_jp() -> None:
    import datetime as dt

    assert pdf.tanggal(dt.date(2026, 3, 5)) == "5 Maret 2026"
    assert pdf.rentang_tanggal(dt.date(2026, 3, 3), dt.date(2026, 3, 7)) == "3–7 Maret 2026"
    assert (
        pdf.rentang_tanggal(dt.date(2026, 2, 28), dt.date(2026, 3, 3))
        == "28 Februari – 3 Maret 2026"
    )
    assert pdf.format_jp(20.0) == "20" and pdf.format_jp(1.5) == "1,5"


def test_layout_errors_name_the_element_and_field() -> None:
    data = json.loads(layout.layout_json(layout.DEFAULT_LAYOUT))
    data["elements"][2]["x"] = 400
    data["elements"].append({"kind": "field", "field": "gaji_pokok", "x": 10, "y": 10})
    data["elements"].append({"kind": "text", "text": "Halo {nama}", "x": 10, "y": 20})
    with pytest.raises(ValidationFailed) as caught:
        layout.parse_layout(json.dumps(data))
    fields = [e["field"] for e in caught.value.errors]
    messages = " ".join(e["message"] for e in caught.value.errors)
    assert any(f.startswith("elements[2].x") for f in fields)
    assert "gaji_pokok" in messages and "{nama}" in messages
    assert caught.value.status_code == 422


def test_layout_rejects_bad_json_and_unknown_keys() -> None:
    with pytest.raises(ValidationFailed, match="JSON"):
        layout.parse_layout("{not json")
    with pytest.raises(ValidationFailed) as caught:
        layout.parse_layout(
            {"elements": [{"kind": "qr", "x": 20, "y": 10, "size": 30, "warna": 1}]}
        )
    assert caught.value.errors == [
        {"field": "elements[0].warna (qr)", "message": "atribut tidak dikenal"}
    ]
    with pytest.raises(ValidationFailed, match="QR keluar dari halaman"):
        layout.parse_layout({"elements": [{"kind": "qr", "x": 280, "y": 10, "size": 30}]})


def test_default_layout_round_trips() -> None:
    again = layout.parse_layout(layout.layout_json(layout.DEFAULT_LAYOUT))
    assert again == layout.DEFAULT_LAYOUT


def test_display_code_groups() -> None:
    assert layout.display_code("abcdefgh1234") == "ABCD-EFGH-1234"


def test_long_name_shrinks_to_fit(settings) -> None:  # type: ignore[no-untyped-def]
    name = "Raden Roro Ayu Kusumaningtyas Prameswari Wulandari Hadiningrat Sosrodiningrat"
    data = dataclasses.replace(pdf.sample_data(settings, curriculum=False), holder_name=name)
    # Rendering must not raise and the page stays one page.
    assert pdf.page_count(pdf.render(data, pdf.DEFAULT_TEMPLATE, settings)) == 1


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_background_image_is_drawn_full_page(settings, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1169, 827), (200, 30, 30)).save(buffer, fmt)
    template = pdf.RenderTemplate(
        layout.DEFAULT_LAYOUT, background=buffer.getvalue(), key=f"t-{fmt}"
    )
    rendered = pdf.render(pdf.sample_data(settings, curriculum=False), template, settings)
    assert b"/Subtype /Image" in rendered
    if shutil.which("pdftoppm"):
        path = tmp_path / "bg.pdf"
        path.write_bytes(rendered)
        subprocess.run(
            ["pdftoppm", "-r", "20", "-png", str(path), str(tmp_path / "bg")], check=True
        )
        with Image.open(next(tmp_path.glob("bg*.png"))) as page:
            r, g, b = page.convert("RGB").getpixel((3, 3))  # a corner: background only
        assert r > 150 and g < 90 and b < 90
    # Twice in one process: the prepared image is reused, not re-registered.
    assert pdf.render(pdf.sample_data(settings, curriculum=False), template, settings)


def test_metadata_names_the_number_and_verify_link(settings) -> None:  # type: ignore[no-untyped-def]
    from pyhanko.pdf_utils.reader import PdfFileReader

    data = pdf.sample_data(settings, curriculum=False)
    rendered = pdf.render(data, pdf.DEFAULT_TEMPLATE, settings)
    info = PdfFileReader(io.BytesIO(rendered)).trailer["/Info"]
    assert str(info["/Title"]) == f"Sertifikat {data.number} \u2014 {data.holder_name}"
    assert f"/verify/{data.code}".encode() in rendered
