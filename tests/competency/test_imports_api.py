"""Standards and assessment imports through the API: aliases, CSV and XLSX, every bad row
reported with nothing written, re-import updating, and who may import."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.competency.models import CompetencyAssessment, CompetencyImport, CompetencyStandard
from app.core import clock
from app.core.db import session_scope
from tests.competency.helpers import asn
from tests.factories import api_token, make_user

URL_STD = "/api/v1/competency/standards/import"
URL_ASM = "/api/v1/competency/assessments/import"


async def officer(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    user = make_user(roles=("training_officer",), nip=None, email="officer@example.go.id")
    assert user
    return await api_token(client, "officer@example.go.id")


def csv_file(text: str, name: str = "data.csv") -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, text.encode("utf-8"), "text/csv")}


def xlsx_file(rows: list[list[object]]) -> dict[str, tuple[str, bytes, str]]:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return {"file": ("data.xlsx", out.getvalue(), "application/octet-stream")}


def count(model: type) -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


async def test_standards_import_with_aliases_and_upsert(client) -> None:  # type: ignore[no-untyped-def]
    headers = await officer(client)
    body = (
        "Jabatan;Kode Kompetensi;Level Standar\n"
        "Pranata Komputer Ahli Pertama;literasi_digital;3\n"
        "Pelaksana;Integritas;2\n"  # a jenis jabatan, and a competency by its name
        "*;perekat-bangsa;2\n"
    )
    response = await client.post(URL_STD, files=csv_file(body), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"imported": 3, "created": 3, "updated": 0, "errors": []}
    again = await client.post(
        URL_STD,
        files=csv_file("jabatan,kode_kompetensi,level_standar\n*,perekat_bangsa,3\n"),
        headers=headers,
    )
    assert again.json()["updated"] == 1 and again.json()["created"] == 0
    with session_scope() as session:
        rows = {
            (s.jabatan_key, s.competency_code): (s.jabatan, s.required_level)
            for s in session.scalars(select(CompetencyStandard))
        }
        imports = session.scalars(select(CompetencyImport)).all()
    assert rows == {
        ("pranata komputer ahli pertama", "literasi_digital"): (
            "Pranata Komputer Ahli Pertama",
            3,
        ),
        ("pelaksana", "integritas"): ("pelaksana", 2),
        ("*", "perekat_bangsa"): ("*", 3),
    }
    assert [i.kind for i in imports] == ["standards", "standards"]


async def test_standards_errors_import_nothing(client) -> None:  # type: ignore[no-untyped-def]
    headers = await officer(client)
    body = (
        "jabatan,competency_code,required_level\n"
        "Analis,literasi_digital,3\n"
        ",integritas,2\n"
        "Analis,tidak_ada,2\n"
        "Analis,integritas,9\n"
        "Analis,literasi_digital,2\n"
    )
    response = await client.post(URL_STD, files=csv_file(body), headers=headers)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {
        (3, "jabatan"),
        (4, "competency_code"),
        (5, "required_level"),
        (6, "jabatan"),
    }
    assert "baris 2" in next(e["message"] for e in errors if e["row"] == 6)
    assert count(CompetencyStandard) == 0 and count(CompetencyImport) == 0


async def test_assessments_import_xlsx_and_reimport_updates(client) -> None:  # type: ignore[no-untyped-def]
    headers = await officer(client)
    a, b = asn(name="A"), asn(name="B")
    rows: list[list[object]] = [
        ["NIP", "Kode Kompetensi", "Level Capaian", "Tanggal Asesmen", "Metode", "Asesor"],
        [a.nip, "integritas", 2, dt.datetime(2026, 3, 1), "assessment center", "Tim"],
        [b.nip, "literasi_digital", 3.0, "01/03/2026", "uji kompetensi", None],
        [b.nip, "literasi_digital", 1, "1 Maret 2025", "uji kompetensi", None],
    ]
    response = await client.post(URL_ASM, files=xlsx_file(rows), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 3 and response.json()["created"] == 3
    rows[1][2] = 4
    again = await client.post(URL_ASM, files=xlsx_file(rows[:2]), headers=headers)
    assert again.json() == {"imported": 1, "created": 0, "updated": 1, "errors": []}
    with session_scope() as session:
        got = sorted(
            (
                r.user_id,
                r.competency_code,
                r.level,
                r.assessed_on,
                r.method,
                r.import_id is not None,
            )
            for r in session.scalars(select(CompetencyAssessment))
        )
    assert got == sorted(
        [
            (a.id, "integritas", 4, dt.date(2026, 3, 1), "assessment center", True),
            (b.id, "literasi_digital", 3, dt.date(2026, 3, 1), "uji kompetensi", True),
            (b.id, "literasi_digital", 1, dt.date(2025, 3, 1), "uji kompetensi", True),
        ]
    )


async def test_assessment_errors_name_row_and_field(client) -> None:  # type: ignore[no-untyped-def]
    headers = await officer(client)
    a = asn()
    future = (clock.today() + dt.timedelta(days=3)).isoformat()
    body = (
        "nip,competency_code,level,assessed_on,method,required_level\n"
        f"{a.nip},integritas,2,2026-01-10,CAT,3\n"
        "199001012015031999,integritas,2,2026-01-10,CAT,\n"
        f"{a.nip},integritas,0,2026-01-11,CAT,\n"
        f"{a.nip},kerja_sama,2,kemarin,CAT,\n"
        f"{a.nip},kerja_sama,2,{future},CAT,\n"
        f"{a.nip},komunikasi,2,2026-01-10,,\n"
        f"{a.nip},integritas,3,2026-01-10,CAT,\n"
        f"{a.nip},spbe,2,2026-01-10,CAT,7\n"
    )
    response = await client.post(URL_ASM, files=csv_file(body), headers=headers)
    assert response.status_code == 422
    errors = {(e["row"], e["field"]): e["message"] for e in response.json()["errors"]}
    assert set(errors) == {
        (3, "nip"),
        (4, "level"),
        (5, "assessed_on"),
        (6, "assessed_on"),
        (7, "method"),
        (8, "nip"),
        (9, "required_level"),
    }
    assert "tidak terdaftar" in errors[(3, "nip")]
    assert "belum terjadi" in errors[(6, "assessed_on")]
    assert "ganda" in errors[(8, "nip")]
    assert count(CompetencyAssessment) == 0 and count(CompetencyImport) == 0


async def test_missing_columns_and_bad_files(client) -> None:  # type: ignore[no-untyped-def]
    headers = await officer(client)
    response = await client.post(URL_ASM, files=csv_file("nip,level\n1,2\n"), headers=headers)
    assert response.status_code == 422
    assert "kode_kompetensi" in response.json()["detail"]
    pdf = {"file": ("x.pdf", b"%PDF-1.4 binary\x00\x01", "application/pdf")}
    response = await client.post(URL_ASM, files=pdf, headers=headers)
    assert response.status_code == 415
    empty = await client.post(URL_STD, files=csv_file("jabatan,kode_kompetensi,level_standar\n"),
                              headers=headers)  # fmt: skip
    assert empty.status_code == 422


async def test_only_officers_import(client) -> None:  # type: ignore[no-untyped-def]
    learner = make_user(email="learner@example.go.id")
    assert learner
    headers = await api_token(client, "learner@example.go.id")
    body = "jabatan,kode_kompetensi,level_standar\n*,integritas,3\n"
    assert (await client.post(URL_STD, files=csv_file(body), headers=headers)).status_code == 403
    assert (await client.post(URL_STD, files=csv_file(body))).status_code == 401


async def test_templates_download(client) -> None:  # type: ignore[no-untyped-def]
    headers = await officer(client)
    for kind, first in (("standards", "jabatan"), ("assessments", "nip")):
        response = await client.get(f"/api/v1/competency/{kind}/template.xlsx", headers=headers)
        assert response.status_code == 200
        book = load_workbook(io.BytesIO(response.content))
        assert book.worksheets[0]["A1"].value == first
        assert book["Referensi"]["A2"].value
