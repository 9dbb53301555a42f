"""No input gives a 500 (issue 14): ids past the column range, digits of other scripts, control
characters and formula starts in exported spreadsheets. Each class of input that the API fuzzer
(scripts/ci-fuzz.sh) found answering 500 has a test here, on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import text

from app.auth.dependencies import SessionDep
from app.core.numbers import MAX_ROW_ID, ascii_int, row_id, strict_int
from app.core.tables import clean_cell, csv_safe, sheet_title, xlsx_safe
from app.main import create_app
from app.web.params import MAX_PAGE
from tests.factories import (
    api_token,
    browser_login,
    make_certificate_record,
    make_course,
    make_opd,
    make_quiz,
    make_user,
)

BIG = {
    "int4 + 1": 2**31,  # PostgreSQL integer (every id column) ends at 2**31 - 1
    "int8 + 1": 2**63,  # SQLite's INTEGER ends at 2**63 - 1 (OverflowError before any query)
    "huge": 99999999999999999999999,
    "huge negative": -(10**30),
}

# A sample of operations from every kind: GET, POST, PUT, PATCH, DELETE; one and two path ids.
ID_ROUTES = [
    ("GET", "/api/v1/courses/{id}"),
    ("PATCH", "/api/v1/courses/{id}"),
    ("GET", "/api/v1/users/{id}"),
    ("GET", "/api/v1/certificates/{id}"),
    ("GET", "/api/v1/quizzes/{id}"),
    ("PUT", "/api/v1/runs/{id}/rtl"),
    ("POST", "/api/v1/mentoring/assignments/{id}/signoff"),
    ("DELETE", "/api/v1/external-trainings/{id}"),
    ("DELETE", "/api/v1/runs/1/enrolments/{id}"),
    ("GET", "/api/v1/runs/{id}/eligibility/1"),
]


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> dict[str, str]:
    user = make_user(roles=("admin",), name="Admin Uji")
    return await api_token(client, user.nip or "")


@pytest.mark.parametrize(("method", "template"), ID_ROUTES)
@pytest.mark.parametrize("value", list(BIG.values()), ids=list(BIG))
async def test_an_id_past_the_column_range_is_a_422_naming_it(
    client: httpx.AsyncClient, admin: dict[str, str], method: str, template: str, value: int
) -> None:
    response = await client.request(
        method, template.format(id=value), headers=admin, json={} if method != "GET" else None
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error"
    assert body["field"].endswith("_id")
    assert body["errors"][0]["field"] == body["field"]


@pytest.mark.parametrize(("method", "template"), ID_ROUTES[:5])
async def test_the_largest_id_is_looked_up_and_not_found(
    client: httpx.AsyncClient, admin: dict[str, str], method: str, template: str
) -> None:
    response = await client.request(
        method, template.format(id=MAX_ROW_ID), headers=admin, json={} if method != "GET" else None
    )
    assert response.status_code == 404, response.text


@pytest.mark.parametrize(
    "query",
    [
        {"user_id": 2**31},
        {"run_id": 10**30},
        {"page": MAX_PAGE + 1},
        {"page": 1207105107302280855552},
        {"year": 10**20},
    ],
)
async def test_query_numbers_past_their_range_are_422(
    client: httpx.AsyncClient, admin: dict[str, str], query: dict[str, int]
) -> None:
    response = await client.get("/api/v1/certificates", params=query, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == next(iter(query))


async def test_the_last_page_allowed_is_an_empty_page(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for path in ("/api/v1/certificates", "/api/v1/mentoring/assignments", "/api/v1/users"):
        response = await client.get(path, params={"page": MAX_PAGE}, headers=admin)
        assert response.status_code == 200, (path, response.text)


async def test_an_id_in_a_form_body_past_the_range_is_a_422(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    section = make_course()["section"]
    response = await client.post(
        f"/api/v1/sections/{section}/activities",
        headers=admin,
        data={"kind": "document", "title": "Modul", "file_id": str(-(10**35))},
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "file_id"


# --- the error layer's safety net: a number the database cannot hold is a 422, never a 500 ----


@pytest.fixture
async def overflow_client() -> AsyncIterator[httpx.AsyncClient]:
    """The real app (handlers, middleware, database) plus one route that hands the database a
    number it cannot hold, as an unbounded parameter anywhere would."""
    app: FastAPI = create_app()

    @app.get("/api/v1/_test/overflow")
    def overflow(db: SessionDep, value: int) -> dict[str, int]:
        if db.get_bind().dialect.name == "postgresql":  # int4: DataError 22003
            db.execute(text("SELECT CAST(:v AS integer)"), {"v": value})
        else:  # SQLite: OverflowError while binding
            db.execute(text("SELECT :v"), {"v": value})
        return {"value": value}

    @app.get("/api/v1/_test/text")
    def store_text(db: SessionDep, value: str) -> dict[str, str]:
        db.execute(text("SELECT CAST(:v AS text)"), {"v": value})
        return {"value": value}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_a_number_the_database_cannot_hold_is_a_422(
    overflow_client: httpx.AsyncClient,
) -> None:
    assert (await overflow_client.get("/api/v1/_test/overflow?value=5")).json() == {"value": 5}
    response = await overflow_client.get(f"/api/v1/_test/overflow?value={2**64}")
    assert response.status_code == 422, response.text
    assert response.json() == {
        "error": "value_out_of_range",
        "detail": response.json()["detail"],
        "field": None,
        "errors": [],
    }
    # the request's transaction was rolled back and the connection is usable again
    assert (await overflow_client.get("/api/v1/_test/overflow?value=7")).json() == {"value": 7}


# --- digits of other scripts ------------------------------------------------------------------


@pytest.mark.parametrize("text", ["١٢", "１２", "²", "1_000", "12\u0663", "", " ", "+", "0x10"])
def test_ascii_int_refuses_anything_but_ascii_digits(text: str) -> None:
    assert ascii_int(text) is None
    with pytest.raises(ValueError):
        strict_int(text)


def test_ascii_int_reads_ascii_digits_within_bounds() -> None:
    assert ascii_int(" 42 ") == 42
    assert ascii_int("-3") == -3
    assert ascii_int("-3", minimum=0) is None
    assert row_id("2147483647") == MAX_ROW_ID
    assert row_id("2147483648") is None
    assert row_id("0") is None
    assert ascii_int("9" * 41) is None


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize(
    "spell",
    [
        lambda n: str(n).translate(ARABIC_INDIC),
        lambda n: str(n).translate(FULLWIDTH),
        lambda n: "²",  # str.isdigit() says yes, int() says no: this was a 500
        lambda n: str(n + 2**31),
        lambda n: "9" * 30,
    ],
    ids=["arabic-indic", "fullwidth", "superscript", "past int4", "huge"],
)
async def test_a_template_reference_in_other_digits_names_no_template(
    client: httpx.AsyncClient, admin: dict[str, str], spell: object
) -> None:
    default = await client.get("/api/v1/certificate-templates/default", headers=admin)
    assert default.status_code == 200
    template_id = default.json()["id"]
    assert (await client.get(f"/api/v1/certificate-templates/{template_id}", headers=admin)).status_code == 200
    ref = spell(template_id)  # type: ignore[operator]
    response = await client.get(f"/api/v1/certificate-templates/{ref}", headers=admin)
    assert response.status_code == 404, response.text
    assert response.json()["error"] == "template_not_found"


@pytest.mark.parametrize("value", ["١٢", "１２", "²"])
async def test_a_path_id_in_other_digits_is_a_422(
    client: httpx.AsyncClient, admin: dict[str, str], value: str
) -> None:
    response = await client.get(f"/api/v1/courses/{value}", headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "course_id"


@pytest.mark.parametrize("value", ["²", "١", "１", "1_0"])
async def test_an_id_typed_in_a_form_in_other_digits_is_a_422(
    client: httpx.AsyncClient, value: str
) -> None:
    officer = make_user(roles=("training_officer",), name="Petugas Uji")
    csrf = await browser_login(client, officer.nip or "")
    response = await client.post(
        "/studio/notifications/outbox/retry", data={"csrf_token": csrf, "id": value}
    )
    assert response.status_code == 422, response.text  # "²" was a 500: isdigit() yes, int() no


# --- spreadsheets: control characters and formulas ----------------------------------------------


def test_one_cleaner_for_every_cell() -> None:
    assert clean_cell("Budi\x00\x07 Santoso\x1f") == "Budi Santoso"
    assert clean_cell("a\tb\nc") == "a\tb\nc"  # tab and line feed are text
    assert csv_safe("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert csv_safe("\x01=1+2") == "'=1+2"  # cleaned first, then checked
    for start in "=+-@":
        assert csv_safe(f"{start}1") == f"'{start}1"
    assert xlsx_safe("=1+2\x0b") == "=1+2"  # XLSX keeps it, written as a string cell
    assert sheet_title("Pre/Post [1]: apa?*", "Hasil") == "Pre Post 1 apa"
    assert sheet_title("'/\\'", "Hasil") == "Hasil"


async def test_certificate_export_with_control_characters_and_formulas(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    make_certificate_record(holder_name="Budi\x07 Santoso\x1b")
    make_certificate_record(holder_name='=HYPERLINK("http://evil.example","klik")')
    response = await client.get("/api/v1/certificates?format=xlsx", headers=admin)
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    names = {sheet.cell(row=r, column=3).value for r in range(2, sheet.max_row + 1)}
    assert "Budi Santoso" in names
    formula = next(r for r in range(2, 4) if "HYPERLINK" in str(sheet.cell(row=r, column=3).value))
    assert sheet.cell(row=formula, column=3).data_type == "s"  # text, never a formula


async def test_roster_template_with_control_characters_in_an_opd_name(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    make_opd(code="DINKES", name="Dinas\x07 Kesehatan =1+1")
    response = await client.get("/api/v1/users/import/template", headers=admin)
    assert response.status_code == 200, response.text
    book = load_workbook(io.BytesIO(response.content))
    reference = book["Referensi"]
    names = [reference.cell(row=r, column=6) for r in range(2, reference.max_row + 1)]
    cell = next(c for c in names if c.value and "Kesehatan" in str(c.value))
    assert cell.value == "Dinas Kesehatan =1+1"
    assert cell.data_type == "s"


async def test_quiz_results_export_of_a_quiz_whose_title_no_sheet_may_carry(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    section = make_course()["section"]
    quiz = make_quiz(section, title="Pre/Post-test [1]: Etika?")
    response = await client.get(f"/api/v1/quizzes/{quiz['quiz']}/results?format=xlsx", headers=admin)
    assert response.status_code == 200, response.text
    assert load_workbook(io.BytesIO(response.content)).sheetnames == ["Pre Post-test 1 Etika"]


async def test_a_nul_character_postgresql_cannot_store_is_a_422(
    overflow_client: httpx.AsyncClient, migrated_database: str
) -> None:
    response = await overflow_client.get("/api/v1/_test/text", params={"value": "a\x00b"})
    if not migrated_database.startswith("postgresql"):
        assert response.status_code == 200  # SQLite stores it
        return
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_character"
