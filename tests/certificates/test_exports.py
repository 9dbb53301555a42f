"""Exports: certificates and the run monitor as XLSX, the SIASN riwayat kursus (CSV/JSON), and
a run's PDFs as one streamed ZIP."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile

from openpyxl import load_workbook
from sqlalchemy import select

from app.certificates import exports
from app.certificates.models import Certificate
from app.core import clock
from app.core.db import session_scope
from tests.certificates.pdfs import make_pdfs
from tests.factories import api_token, make_completed_run, make_user


async def _run_with_certificates(client, n: int = 3):  # type: ignore[no-untyped-def]
    data = make_completed_run(n, auto_issue=False, jp=16)
    officer = await api_token(client, make_user(roles=("training_officer",)).email)
    await client.post(f"/api/v1/runs/{data['run']}/certificates", headers=officer)
    make_pdfs()
    return data, officer


async def test_zip_of_a_run(client) -> None:  # type: ignore[no-untyped-def]
    data, officer = await _run_with_certificates(client)
    response = await client.get(f"/api/v1/runs/{data['run']}/certificates.zip", headers=officer)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    with session_scope() as session:
        certs = {c.number: c for c in session.scalars(select(Certificate))}
    names = archive.namelist()
    assert len(names) == 3 and all(n.endswith(".pdf") and "/" not in n for n in names)
    for name in names:
        digest = hashlib.sha256(archive.read(name)).hexdigest()
        assert digest in {c.pdf_sha256 for c in certs.values()}
    learner = await api_token(client, make_user().email)
    assert (await client.get(f"/api/v1/runs/{data['run']}/certificates.zip",
                             headers=learner)).status_code == 403  # fmt: skip


def test_zip_stream_names_are_unique() -> None:
    chunks = exports.zip_stream([("a.pdf", [b"1" * 10, b"2"]), ("a.pdf", [b"3"])])
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.namelist() == ["a.pdf", "a (2).pdf"]
    assert archive.read("a.pdf") == b"1" * 10 + b"2"


async def test_xlsx_exports(client) -> None:  # type: ignore[no-untyped-def]
    data, officer = await _run_with_certificates(client)
    listing = await client.get("/api/v1/certificates?format=xlsx", headers=officer)
    assert listing.headers["content-type"] == exports.XLSX_TYPE
    sheet = load_workbook(io.BytesIO(listing.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Nomor" and len(rows) == 4
    assert isinstance(rows[1][3], str) and len(rows[1][3]) == 18  # NIP kept as text
    monitor = await client.get(f"/api/v1/runs/{data['run']}/monitor?format=xlsx", headers=officer)
    sheet = load_workbook(io.BytesIO(monitor.content)).active
    assert sheet is not None
    assert [r[7] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["tidak"] * 3
    json_rows = (await client.get(f"/api/v1/runs/{data['run']}/monitor", headers=officer)).json()
    assert len(json_rows) == 3 and all(r["certificate_status"] == "valid" for r in json_rows)
    assert json_rows[0]["failed_checks"] == ["not_already_issued"]


async def test_siasn_export(client) -> None:  # type: ignore[no-untyped-def]
    _data, officer = await _run_with_certificates(client, 2)
    year = clock.today().year
    rows = (await client.get(f"/api/v1/reports/siasn?year={year}", headers=officer)).json()
    assert len(rows) == 2
    row = rows[0]
    assert set(row) >= {"namaKursus", "jumlahJam", "nomorSertipikat", "tanggalKursus",
                        "tanggalSelesaiKursus", "tahunKursus", "institusiPenyelenggara",
                        "jenisDiklatId"}  # fmt: skip
    assert row["jumlahJam"] == 16 and row["jenisDiklatId"] == 16 and row["tahunKursus"] == year
    assert dt.datetime.strptime(row["tanggalKursus"], "%d-%m-%Y")
    text = (await client.get(f"/api/v1/reports/siasn?year={year}&format=csv", headers=officer)).text
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [r["nomorSertipikat"] for r in parsed] == [r["nomorSertipikat"] for r in rows]
    assert (
        await client.get(f"/api/v1/reports/siasn?year={year - 1}", headers=officer)
    ).json() == []
