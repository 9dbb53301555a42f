"""Roster import (CSV and XLSX, API, CLI and admin page): upsert by NIP, every bad row reported,
nothing written while any row is bad unless the admin asks to skip the bad rows."""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.accounts.models import Opd, User, UserRole
from app.cli import cli
from app.core.db import session_scope
from tests.accounts.helpers import admin_browser, admin_headers, user_by_nip, user_count
from tests.factories import api_token as api_token_for
from tests.factories import make_opd, make_user

pytestmark = pytest.mark.anyio

HEADERS = ["NIP", "Nama", "Email", "Jenis Pegawai", "Pangkat/Golongan", "Jabatan", "Kode OPD"]
BUDI = [
    "199104092015031002",
    "Budi Santoso, S.Kom.",
    "budi@dinas.go.id",
    "PNS",
    "III/a",
    "Pranata Komputer",
    "DINKES",
]
SARI = [
    "198512202010122001",
    "Ni Luh Putu Sari Dewi",
    "Sari@Dinas.go.id",
    "PNS",
    "III/c",
    "Analis Kebijakan",
    "DINDIK",
]
ANDI = ["199507172023211005", "Andi Ja'far", "", "PPPK", "IX", "Guru Ahli Pertama", "dindik"]
ROWS = [BUDI, SARI, ANDI]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def opds() -> None:
    make_opd(code="DINKES", name="Dinas Kesehatan")
    make_opd(code="DINDIK", name="Dinas Pendidikan dan Kebudayaan")


def csv_bytes(rows: list[list[Any]], *, headers: list[str] = HEADERS, delimiter: str = ",",
              bom: bool = False, newline: str = "\n") -> bytes:  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerow(headers)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


def xlsx_bytes(rows: list[list[Any]], *, headers: list[str] = HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], content: bytes, *, name: str = "data.csv",
    skip_invalid: bool = False, content_type: str = "text/csv",
) -> httpx.Response:  # fmt: skip
    return await client.post(
        "/api/v1/users/import",
        params={"skip_invalid": "true"} if skip_invalid else None,
        files={"file": (name, content, content_type)},
        headers=headers,
    )


def saved(nip: str) -> dict[str, Any]:
    """What the database holds for a NIP: profile, OPD code and roles."""
    with session_scope() as session:
        user = session.scalar(select(User).where(User.nip == nip))
        assert user is not None, nip
        opd = session.get(Opd, user.opd_id) if user.opd_id else None
        roles = session.scalars(select(UserRole.role).where(UserRole.user_id == user.id)).all()
        return {
            "name": user.name, "email": user.email, "employment": user.employment,
            "pangkat_golongan": user.pangkat_golongan, "jabatan": user.jabatan,
            "jenis_jabatan": user.jenis_jabatan, "opd": opd.code if opd else None,
            "roles": sorted(roles), "is_active": user.is_active, "has_password": user.password_hash is not None,
        }  # fmt: skip


def errors_by_row(body: dict[str, Any]) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    for err in body["errors"]:
        found.setdefault(err["row"], {})[err["field"]] = err["message"]
    return found


# --- file formats ----------------------------------------------------------------------------


async def test_csv_with_commas_creates_learners(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    opds()
    before = user_count()
    r = await upload(client, headers, csv_bytes(ROWS))
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 3, "updated": 0, "skipped": 0, "errors": [], "import_id": ANY}
    assert user_count() == before + 3
    assert saved(BUDI[0]) == {
        "name": "Budi Santoso, S.Kom.", "email": "budi@dinas.go.id", "employment": "PNS",
        "pangkat_golongan": "III/a", "jabatan": "Pranata Komputer", "jenis_jabatan": None,
        "opd": "DINKES", "roles": ["learner"], "is_active": True, "has_password": False,
    }  # fmt: skip
    assert saved(SARI[0])["email"] == "sari@dinas.go.id"
    andi = saved(ANDI[0])
    assert andi["employment"] == "PPPK" and andi["pangkat_golongan"] == "IX"
    assert andi["email"] is None and andi["opd"] == "DINDIK"  # OPD codes match in any case
    listed = await client.get("/api/v1/users", params={"q": "Ja'far"}, headers=headers)
    assert listed.json()["total"] == 1


async def test_csv_with_semicolons_bom_and_crlf(client: httpx.AsyncClient) -> None:
    """What Excel in an Indonesian locale saves as "CSV UTF-8"."""
    headers = await admin_headers(client)
    opds()
    content = csv_bytes(ROWS, delimiter=";", bom=True, newline="\r\n")
    assert content.startswith(b"\xef\xbb\xbfNIP;Nama")
    r = await upload(client, headers, content)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 3 and r.json()["errors"] == []
    assert saved(BUDI[0])["name"] == "Budi Santoso, S.Kom."  # the comma stayed inside the name
    assert saved(SARI[0])["name"] == "Ni Luh Putu Sari Dewi"


async def test_csv_in_windows_code_page(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    opds()
    row = ["199001012015031002", "José Ramos-Horta Siregar", "", "PNS", "III/a", "Penata", "DINKES"]
    content = csv_bytes([row]).decode().encode("cp1252")
    r = await upload(client, headers, content)
    assert r.status_code == 200, r.text
    assert saved(row[0])["name"] == "José Ramos-Horta Siregar"


async def test_tab_separated_utf16_from_excel_unicode_text(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    opds()
    content = csv_bytes(ROWS, delimiter="\t").decode().encode("utf-16")
    r = await upload(client, headers, content, name="data.txt", content_type="text/plain")
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 3


def exact_numbers(content: bytes, numbers: dict[str, str]) -> bytes:
    """Rewrite number cells as exact integer literals, as SIMPEG-style exporters write them
    (openpyxl and Excel keep only 15 significant digits of a number)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                for cell, digits in numbers.items():
                    data, n = re.subn(
                        rf'<c r="{cell}" t="n"><v>[^<]+</v>'.encode(),
                        f'<c r="{cell}" t="n"><v>{digits}</v>'.encode(),
                        data,
                    )
                    assert n == 1, cell
            target.writestr(item, data)
    return out.getvalue()


async def test_xlsx_with_nip_as_number_and_as_text(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    opds()
    content = exact_numbers(xlsx_bytes([[int(BUDI[0]), *BUDI[1:]], SARI, ANDI]), {"A2": BUDI[0]})
    check = load_workbook(io.BytesIO(content)).active
    assert check is not None
    assert check["A2"].value == int(BUDI[0]) and check["A3"].value == SARI[0]
    r = await upload(client, headers, content, name="data.xlsx", content_type=XLSX_TYPE)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 3 and r.json()["errors"] == []
    assert saved(BUDI[0])["pangkat_golongan"] == "III/a"
    assert saved(SARI[0])["opd"] == "DINDIK"


async def test_xlsx_nip_rounded_by_excel_is_rejected_not_mangled(client: httpx.AsyncClient) -> None:
    """Excel (and openpyxl) keep 15 digits of a number: 199104092015031002 is stored as
    1.99104092015031E+17. The import must not invent the last digits (…031008 would pass every
    NIP rule) but say what happened."""
    headers = await admin_headers(client)
    opds()
    content = xlsx_bytes([[int(BUDI[0]), *BUDI[1:]], SARI])
    stored = load_workbook(io.BytesIO(content)).active
    assert stored is not None and stored["A2"].value == float("1.99104092015031E+17")
    r = await upload(client, headers, content, name="data.xlsx", content_type=XLSX_TYPE)
    assert r.status_code == 200
    errors = errors_by_row(r.json())
    assert list(errors) == [2]
    assert "000" in errors[2]["NIP"] and "Teks" in errors[2]["NIP"]
    assert user_count() == 1  # the admin only


async def test_scientific_nip_in_csv_is_explained(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    opds()
    r = await upload(client, headers, csv_bytes([["1.99001E+17", *BUDI[1:]]]))
    assert errors_by_row(r.json())[2]["NIP"].startswith("NIP tertulis sebagai angka ilmiah")


async def test_header_aliases_and_extra_columns(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    opds()
    aliased = ["No.", " nip ", "NAMA LENGKAP", "E-mail", "Status Pegawai", "Pangkat / Golongan",
               "Position", "jenis_jabatan", "OPD", "Tempat Lahir"]  # fmt: skip
    rows = [
        ["1", BUDI[0], BUDI[1], BUDI[2], "pns", "iii/a", BUDI[5], "Fungsional", "DINKES", "Kendari"]
    ]
    r = await upload(client, headers, csv_bytes(rows, headers=aliased))
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1, r.text
    budi = saved(BUDI[0])
    assert budi["name"] == BUDI[1] and budi["email"] == BUDI[2] and budi["employment"] == "PNS"
    assert budi["pangkat_golongan"] == "III/a" and budi["jabatan"] == BUDI[5]
    assert budi["jenis_jabatan"] == "fungsional" and budi["opd"] == "DINKES"


# --- upsert ----------------------------------------------------------------------------------


async def test_second_import_updates_by_nip(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    opds()
    assert (await upload(client, headers, csv_bytes(ROWS))).json()["created"] == 3
    count = user_count()
    promoted = [
        BUDI[0],
        "Budi Santoso, S.Kom., M.T.",
        BUDI[2],
        "PNS",
        "III/b",
        "Kepala Seksi Aplikasi",
        "DINDIK",
    ]
    new = [
        "198203142008012003",
        "Siti Rahmawati",
        "siti@dinas.go.id",
        "PNS",
        "III/d",
        "Analis",
        "DINKES",
    ]
    r = await upload(
        client, headers, xlsx_bytes([promoted, SARI, new]), name="d.xlsx", content_type=XLSX_TYPE
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 1, "updated": 2, "skipped": 0, "errors": [], "import_id": ANY}
    assert user_count() == count + 1
    budi = saved(BUDI[0])
    assert budi["name"] == "Budi Santoso, S.Kom., M.T."
    assert budi["jabatan"] == "Kepala Seksi Aplikasi"
    assert budi["pangkat_golongan"] == "III/b" and budi["opd"] == "DINDIK"
    assert budi["roles"] == ["learner"]  # roles are not duplicated
    assert saved(ANDI[0])["name"] == "Andi Ja'far"  # a NIP missing from the file is left alone


async def test_update_keeps_roles_password_and_values_the_file_does_not_give(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_headers(client)
    opds()
    mentor = make_user(
        nip=BUDI[0], email="budi.pribadi@mail.go.id", roles=("mentor", "learner"), name="Budi"
    )
    short = ["NIP", "Nama", "Jenis Pegawai", "Kode OPD"]
    r = await upload(
        client, headers, csv_bytes([[BUDI[0], "Budi Santoso", "PNS", "DINKES"]], headers=short)
    )
    assert r.json() == {"created": 0, "updated": 1, "skipped": 0, "errors": [], "import_id": ANY}
    r = await upload(
        client, headers, csv_bytes([[BUDI[0], "Budi Santoso", "", "PNS", "", "", "DINKES"]])
    )
    assert r.json()["updated"] == 1
    budi = saved(BUDI[0])
    assert budi["name"] == "Budi Santoso" and budi["opd"] == "DINKES"
    assert (
        budi["email"] == "budi.pribadi@mail.go.id"
    )  # neither a missing column nor a blank cell erases it
    assert budi["roles"] == ["learner", "mentor"]
    assert budi["has_password"] is True
    assert mentor.id == user_by_nip(BUDI[0]).id  # type: ignore[union-attr]


async def test_large_roster_crosses_batches_and_updates_in_bulk(client: httpx.AsyncClient) -> None:
    """More rows than one write batch (2,000) and one look-up list (900), as a real OPD sends."""
    from app.dev.seed import rows_to_csv, synthetic_rows

    headers = await admin_headers(client)
    opds()
    rows = synthetic_rows(2_100, ["DINKES", "DINDIK"], seed=7)
    first = await upload(client, headers, rows_to_csv(rows))
    assert first.json() == {
        "created": 2_100,
        "updated": 0,
        "skipped": 0,
        "errors": [],
        "import_id": ANY,
    }
    for row in rows[::3]:
        row["Jabatan"] = "Jabatan Baru"
    rows.append({**rows[0], "NIP": "198001012005011001", "Email": "baru@asn.example.go.id"})
    second = await upload(client, headers, rows_to_csv(rows))
    assert second.json() == {
        "created": 1,
        "updated": 2_100,
        "skipped": 0,
        "errors": [],
        "import_id": ANY,
    }
    with session_scope() as session:
        renamed = session.scalar(
            select(func.count()).select_from(User).where(User.jabatan == "Jabatan Baru")
        )
        learners = session.scalar(select(func.count()).select_from(UserRole))
    assert renamed == len(rows[:-1:3]) + 1
    assert learners == 2_101 + 1  # one learner role each, and the admin's


async def test_existing_user_may_keep_own_email(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    opds()
    make_user(nip=BUDI[0], email=BUDI[2])
    r = await upload(
        client,
        headers,
        csv_bytes([[BUDI[0], "Budi", BUDI[2].upper(), "PNS", "III/a", "x", "DINKES"]]),
    )
    assert r.json()["errors"] == [] and r.json()["updated"] == 1


# --- bad rows --------------------------------------------------------------------------------


BAD_FILE_ROWS: list[list[Any]] = [
    BUDI,                                                                                   # 2 ok
    ["199002302015031003", "Tanggal Salah", "t@dinas.go.id", "PNS", "III/a", "x", "DINKES"],  # 3 nip
    [],                                                                                     # 4 blank
    ["198512202010122004", "Golongan Salah", "g@dinas.go.id", "PNS", "III/f", "x", "DINKES"],  # 5
    ["198512202010122005", "OPD Salah", "o@dinas.go.id", "PNS", "III/a", "x", "DINSOS"],      # 6
    ["199507172023211006", "PPPK Salah", "p@dinas.go.id", "PNS", "IX", "x", "DINKES"],        # 7
    ["", "", "bukan-email", "", "", "", ""],                                                # 8
    SARI,                                                                                   # 9 ok
]  # fmt: skip


async def test_every_bad_row_is_reported_and_nothing_is_written(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    opds()
    before = user_count()
    r = await upload(client, headers, csv_bytes(BAD_FILE_ROWS))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == 0 and body["updated"] == 0
    assert body["skipped"] == 5
    errors = errors_by_row(body)
    assert sorted(errors) == [3, 5, 6, 7, 8]  # header is row 1; the blank line 4 still counts
    assert "Tanggal lahir" in errors[3]["NIP"]
    assert "III/f" in errors[5]["Pangkat/Golongan"] and "PNS" in errors[5]["Pangkat/Golongan"]
    assert "DINSOS" in errors[6]["Kode OPD"]
    assert "PPPK" in errors[7]["Jenis Pegawai"]
    assert set(errors[8]) == {"NIP", "Nama", "Jenis Pegawai", "Kode OPD", "Email"}
    assert "wajib diisi" in errors[8]["Nama"]
    assert "Email tidak sah" in errors[8]["Email"]
    assert user_count() == before


async def test_skip_invalid_imports_the_good_rows(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    opds()
    before = user_count()
    r = await upload(client, headers, csv_bytes(BAD_FILE_ROWS), skip_invalid=True)
    assert r.status_code == 200
    body = r.json()
    assert body["created"] == 2 and body["updated"] == 0
    assert sorted(errors_by_row(body)) == [3, 5, 6, 7, 8]
    assert user_count() == before + 2
    assert saved(BUDI[0])["name"] == BUDI[1] and saved(SARI[0])["name"] == SARI[1]


async def test_duplicate_nip_and_email_within_the_file(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    opds()
    again = [
        "19910409 201503 1 002",
        "Budi Lagi",
        "lain@dinas.go.id",
        "PNS",
        "III/a",
        "x",
        "DINKES",
    ]
    same_mail = ["198203142008012003", "Siti", "BUDI@dinas.go.id", "PNS", "III/a", "x", "DINKES"]
    r = await upload(client, headers, csv_bytes([BUDI, again, same_mail]))
    errors = errors_by_row(r.json())
    assert sorted(errors) == [3, 4]
    assert "ganda" in errors[3]["NIP"] and "baris 2" in errors[3]["NIP"]
    assert "ganda" in errors[4]["Email"] and "baris 2" in errors[4]["Email"]
    assert user_count() == 1


async def test_email_of_another_account(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    opds()
    make_user(nip="197805122005011002", email="budi@dinas.go.id")
    before = user_count()
    r = await upload(client, headers, csv_bytes([SARI, BUDI]))
    errors = errors_by_row(r.json())
    assert list(errors) == [3]
    assert "budi@dinas.go.id" in errors[3]["Email"] and "akun lain" in errors[3]["Email"]
    assert user_count() == before
    # An admin account without NIP holding the email counts as well.
    r = await upload(
        client, headers, csv_bytes([[*BUDI[:2], "ADMIN@bkpsdm.example.go.id", *BUDI[3:]]])
    )
    assert "akun lain" in errors_by_row(r.json())[2]["Email"]


async def test_ragged_csv_row_reports_the_missing_cells(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    opds()
    content = csv_bytes([BUDI]) + b"198512202010122001,Sari\n"
    errors = errors_by_row((await upload(client, headers, content)).json())
    assert set(errors[3]) == {"Jenis Pegawai", "Kode OPD"}


# --- whole-file problems ---------------------------------------------------------------------


async def test_missing_required_columns_is_422_naming_them(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    r = await upload(client, headers, csv_bytes([BUDI[:3]], headers=["NIP", "Nama", "Email"]))
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "missing_columns"
    assert body["field"] == "file"
    assert "Jenis Pegawai" in body["detail"] and "Kode OPD" in body["detail"]
    assert (
        "NIP," not in body["detail"].split(":")[1].split(".")[0]
    )  # present columns are not listed


async def test_empty_file_is_422(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    r = await upload(client, headers, b"")
    assert r.status_code == 422
    assert r.json()["error"] == "empty_file"


def _noise(size: int, *, low: int = 0) -> bytes:
    rng = random.Random(size)
    return bytes(rng.randrange(low, 256) for _ in range(size))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("surat.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"),
        ("foto.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + _noise(400)),
        ("acak.bin", _noise(3000, low=1)),  # no NUL byte, still not text
        ("lama.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500),
        ("data.csv", b"NIP,Nama\x00\x00\x01\x02"),
    ],
)
async def test_pdf_and_binary_files_are_415(
    client: httpx.AsyncClient, name: str, content: bytes
) -> None:
    headers = await admin_headers(client)
    r = await upload(client, headers, content, name=name, content_type="application/octet-stream")
    assert r.status_code == 415, r.text
    assert r.json()["error"] == "unsupported_roster_format"
    assert "CSV atau XLSX" in r.json()["detail"]


async def test_zip_that_is_not_a_workbook_is_415(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    r = await upload(client, headers, out.getvalue(), name="data.xlsx", content_type=XLSX_TYPE)
    assert r.status_code == 415
    assert r.json()["error"] == "bad_xlsx"


async def test_workbook_with_a_damaged_sheet_is_415(client: httpx.AsyncClient) -> None:
    """Opening works, the sheet's XML breaks while its rows are read: still a clear 415."""
    headers = await admin_headers(client)
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes(ROWS)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)
    r = await upload(client, headers, out.getvalue(), name="rusak.xlsx", content_type=XLSX_TYPE)
    assert r.status_code == 415, r.text
    assert r.json()["error"] == "bad_xlsx"
    assert "rusak" in r.json()["detail"]


async def test_file_too_large_is_413(client: httpx.AsyncClient, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    headers = await admin_headers(client)
    monkeypatch.setattr(settings, "max_roster_bytes", 1024)
    r = await upload(client, headers, csv_bytes([BUDI] * 40))
    assert r.status_code == 413
    assert r.json()["error"] == "file_too_large"


# --- the template ----------------------------------------------------------------------------


async def test_template_round_trips(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    opds()
    r = await client.get("/api/v1/users/import/template", headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == XLSX_TYPE
    assert "attachment" in r.headers["content-disposition"]
    book = load_workbook(io.BytesIO(r.content))
    sheet = book["Data ASN"]
    header = [c.value for c in sheet[1]]
    assert header[:7] == HEADERS
    reference = list(book["Referensi"].iter_rows(values_only=True))
    assert reference[9][:2] == ("III/a", "Penata Muda")
    assert {row[4] for row in reference[1:]} >= {"BKPSDM", "DINDIK", "DINKES"}
    # The admin replaces the example row with real people and uploads the same workbook.
    sheet.delete_rows(2)
    for row in (BUDI, SARI, ANDI):
        sheet.append([*row, "fungsional"])
    out = io.BytesIO()
    book.save(out)
    imported = await upload(
        client, headers, out.getvalue(), name="templat.xlsx", content_type=XLSX_TYPE
    )
    assert imported.status_code == 200, imported.text
    assert imported.json() == {
        "created": 3,
        "updated": 0,
        "skipped": 0,
        "errors": [],
        "import_id": ANY,
    }
    assert saved(ANDI[0])["jenis_jabatan"] == "fungsional"


async def test_template_example_row_is_itself_valid(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    r = await client.get("/api/v1/users/import/template", headers=headers)
    imported = await upload(client, headers, r.content, name="templat.xlsx", content_type=XLSX_TYPE)
    assert imported.json()["errors"] == [] and imported.json()["created"] == 1


# --- admin page ------------------------------------------------------------------------------


async def test_import_page_shows_the_result_table(client: httpx.AsyncClient) -> None:
    csrf = await admin_browser(client)
    opds()
    page = await client.get("/admin/users/import")
    assert page.status_code == 200
    assert 'type="file"' in page.text and "/api/v1/users/import/template" in page.text

    before = user_count()
    bad = await client.post(
        "/admin/users/import",
        data={"csrf_token": csrf},
        files={"file": ("roster.csv", csv_bytes(BAD_FILE_ROWS), "text/csv")},
    )
    assert bad.status_code == 422
    assert "roster.csv" in bad.text
    assert "Tidak ada data yang diimpor" in bad.text
    assert "<td>3</td><td>NIP</td>" in bad.text
    assert "<td>6</td><td>Kode OPD</td>" in bad.text
    assert user_count() == before

    good = await client.post(
        "/admin/users/import",
        data={"csrf_token": csrf, "skip_invalid": "true"},
        files={"file": ("roster.csv", csv_bytes(BAD_FILE_ROWS), "text/csv")},
    )
    assert good.status_code == 200
    assert "2 pengguna baru, 0 diperbarui, 5 baris dilewati" in good.text
    assert user_count() == before + 2

    pdf = await client.post(
        "/admin/users/import",
        data={"csrf_token": csrf},
        files={"file": ("surat.pdf", b"%PDF-1.4\n", "application/pdf")},
    )
    assert pdf.status_code == 415
    assert "CSV atau XLSX" in pdf.text


async def test_import_page_needs_csrf(client: httpx.AsyncClient) -> None:
    await admin_browser(client)
    opds()
    before = user_count()
    r = await client.post(
        "/admin/users/import", files={"file": ("r.csv", csv_bytes(ROWS), "text/csv")}
    )
    assert r.status_code == 403
    assert user_count() == before


# --- CLI -------------------------------------------------------------------------------------


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(cli, ["users", "import", *args])


def test_cli_imports_csv_and_xlsx(tmp_path: Path) -> None:
    opds()
    roster = tmp_path / "roster.csv"
    roster.write_bytes(csv_bytes(ROWS, delimiter=";", bom=True))
    result = run_cli(str(roster))
    assert result.exit_code == 0, result.output
    assert "created 3, updated 0, invalid rows 0" in result.stdout
    book = tmp_path / "roster.xlsx"
    book.write_bytes(xlsx_bytes([["Budi S.", *BUDI[2:], BUDI[0]]], headers=[*HEADERS[1:], "NIP"]))
    again = run_cli(str(book))
    assert again.exit_code == 0, again.output
    assert "created 0, updated 1" in again.stdout
    assert saved(BUDI[0])["name"] == "Budi S."


def test_cli_reports_bad_rows_and_writes_nothing(tmp_path: Path) -> None:
    opds()
    roster = tmp_path / "roster.csv"
    roster.write_bytes(csv_bytes(BAD_FILE_ROWS))
    result = run_cli(str(roster))
    assert result.exit_code == 1
    assert "row 3, NIP: Tanggal lahir" in result.stderr
    assert "row 6, Kode OPD: Kode OPD 'DINSOS' tidak ditemukan." in result.stderr
    assert "nothing imported" in result.stderr
    assert user_count() == 0

    skipped = run_cli(str(roster), "--skip-invalid")
    assert skipped.exit_code == 0, skipped.output
    assert "created 2, updated 0, invalid rows 5" in skipped.stdout
    assert user_count() == 2


def test_cli_whole_file_errors_exit_2(tmp_path: Path) -> None:
    no_columns = tmp_path / "kolom.csv"
    no_columns.write_bytes(csv_bytes([["x"]], headers=["NIP"]))
    result = run_cli(str(no_columns))
    assert result.exit_code == 2
    assert "Kolom wajib" in result.stderr and "Kode OPD" in result.stderr
    pdf = tmp_path / "surat.pdf"
    pdf.write_bytes(b"%PDF-1.7\n")
    assert run_cli(str(pdf)).exit_code == 2
    assert run_cli(str(tmp_path / "tidak-ada.csv")).exit_code == 2  # click: file must exist


def test_users_and_roles_stay_consistent_after_imports(tmp_path: Path) -> None:
    """Every imported account has exactly one role row (learner) after create and update."""
    opds()
    roster = tmp_path / "roster.csv"
    roster.write_bytes(csv_bytes(ROWS))
    assert run_cli(str(roster)).exit_code == 0
    assert run_cli(str(roster)).exit_code == 0
    with session_scope() as session:
        roles = session.scalar(select(func.count()).select_from(UserRole))
        users = session.scalar(select(func.count()).select_from(User))
    assert roles == users == 3


# --- phone numbers, import batches, officers ---------------------------------------------------


@pytest.mark.parametrize("header", ["No HP", "Nomor HP", "Telepon", "WhatsApp", "No WA", "phone"])
async def test_phone_column_is_normalised_to_e164(client: httpx.AsyncClient, header: str) -> None:
    headers = await admin_headers(client)
    opds()
    rows = [[*BUDI, "0812-3456-7890"], [*SARI, "62 813 1111 2222"], [*ANDI, "81299990000"]]
    r = await upload(client, headers, csv_bytes(rows, headers=[*HEADERS, header]))
    assert r.status_code == 200, r.text
    phones = {}
    with session_scope() as session:
        for nip in (BUDI[0], SARI[0], ANDI[0]):
            phones[nip] = session.scalar(select(User.phone).where(User.nip == nip))
    assert phones == {BUDI[0]: "+6281234567890", SARI[0]: "+6281311112222",
                      ANDI[0]: "+6281299990000"}  # fmt: skip


async def test_bad_phone_numbers_are_row_errors_naming_the_column(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_headers(client)
    opds()
    rows = [[*BUDI, "0812-34"], [*SARI, "021-5551234"], [*ANDI, ""]]
    before = user_count()
    r = await upload(client, headers, csv_bytes(rows, headers=[*HEADERS, "Nomor HP"]))
    assert r.status_code == 200
    found = errors_by_row(r.json())
    assert set(found) == {2, 3}
    assert "tidak sah" in found[2]["No HP"] and "0812-34" in found[2]["No HP"]
    assert "bukan nomor seluler" in found[3]["No HP"]
    assert user_count() == before


async def test_a_later_file_without_phones_keeps_them(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    opds()
    await upload(client, headers, csv_bytes([[*BUDI, "081234567890"]], headers=[*HEADERS, "No HP"]))
    again = await upload(client, headers, csv_bytes([BUDI]))
    assert again.json()["updated"] == 1
    with session_scope() as session:
        assert session.scalar(select(User.phone).where(User.nip == BUDI[0])) == "+6281234567890"


async def test_each_import_is_recorded_with_its_users(client: httpx.AsyncClient) -> None:
    from app.accounts.models import RosterImport, RosterImportUser

    officer = make_user(roles=("training_officer",), email="impor@bkpsdm.example.go.id")
    headers = await api_token_for(client, officer.email or "")
    opds()
    first = await upload(client, headers, csv_bytes([BUDI, SARI]), name="dinkes-2026.csv")
    assert first.status_code == 200, first.text
    second = await upload(client, headers, csv_bytes([SARI, ANDI]))
    bad = await upload(client, headers, csv_bytes([["123", "X", "", "PNS", "", "", "DINKES"]]))
    assert bad.json()["import_id"] is None  # nothing written, nothing recorded
    with session_scope() as session:
        batch = session.get(RosterImport, first.json()["import_id"])
        assert batch is not None
        assert (batch.file_name, batch.created_count, batch.updated_count) == (
            "dinkes-2026.csv",
            2,
            0,
        )
        assert batch.created_by_id == officer.id
        members = session.scalars(
            select(User.nip).join(RosterImportUser, RosterImportUser.user_id == User.id)
            .where(RosterImportUser.import_id == second.json()["import_id"])
        ).all()  # fmt: skip
    assert sorted(members) == sorted([SARI[0], ANDI[0]])


async def test_import_page_offers_activation_for_the_batch(client: httpx.AsyncClient, mail) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import browser_login
    from tests.notifications.helpers import deliver

    officer = make_user(roles=("training_officer",), email="impor.web@bkpsdm.example.go.id")
    csrf = await browser_login(client, officer.email or "")
    opds()
    page = await client.get("/admin/users/import")
    assert page.status_code == 200 and 'href="/admin/users"' not in page.text
    rows = [BUDI, [*SARI[:2], "", *SARI[3:], "0813-1111-2222"], [*ANDI[:2], "", *ANDI[3:], ""]]
    done = await client.post(
        "/admin/users/import", data={"csrf_token": csrf},
        files={"file": ("baru.csv", csv_bytes(rows, headers=[*HEADERS, "No HP"]), "text/csv")},
    )  # fmt: skip
    assert done.status_code == 200
    assert "Kirim aktivasi ke 3 ASN dari impor ini" in done.text
    import_id = re.search(r'name="import_id" value="(\d+)"', done.text)
    assert import_id
    sent = await client.post("/studio/activation", data={
        "csrf_token": csrf, "import_id": import_id.group(1), "channel": "auto", "action": "send",
    })  # fmt: skip
    assert sent.status_code == 200
    assert "email 1, WhatsApp 0, surat 2" in sent.text  # WhatsApp is not configured here
    deliver()
    assert mail.envelopes == [["budi@dinas.go.id"]]


async def test_learners_cannot_import(client: httpx.AsyncClient) -> None:
    learner = make_user(email="bukan.petugas@example.go.id")
    headers = await api_token_for(client, learner.email or "")
    r = await upload(client, headers, csv_bytes(ROWS))
    assert r.status_code == 403
