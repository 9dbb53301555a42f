"""OPDs and ASN accounts through the API and the admin pages, as an admin would use them."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.accounts.helpers import (
    admin_browser,
    admin_headers,
    opd_count,
    user_by_nip,
    user_count,
)
from tests.factories import PASSWORD, api_token, make_opd, make_user

pytestmark = pytest.mark.anyio

NIP = "198805152012032003"  # born 15-05-1988, TMT March 2012, female, sequence 003
PPPK_NIP = "199211022023211007"


def new_user(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "nip": NIP,
        "name": "Rina Kartika, S.E.",
        "email": "Rina.Kartika@Example.go.id",
        "password": "Bakti-Negeri-2026",
        "roles": ["learner"],
        "opd_code": "DINKES",
        "pangkat_golongan": "III/b",
        "jabatan": "Analis Keuangan",
        "employment": "PNS",
    }
    body.update(overrides)
    return body


# --- OPDs ------------------------------------------------------------------------------------


async def test_create_opd_and_unit_kerja(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    r = await client.post(
        "/api/v1/opds", json={"code": "dinkes", "name": "  Dinas   Kesehatan "}, headers=headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["code"] == "DINKES"
    assert r.json()["name"] == "Dinas Kesehatan"
    assert isinstance(r.json()["id"], int)
    child = await client.post(
        "/api/v1/opds",
        json={"code": "PKM-KOTA", "name": "Puskesmas Kota", "parent_code": "dinkes"},
        headers=headers,
    )
    assert child.status_code == 201, child.text
    assert child.json()["parent_code"] == "DINKES"
    listed = {o["code"]: o for o in (await client.get("/api/v1/opds", headers=headers)).json()}
    assert listed["PKM-KOTA"]["parent_code"] == "DINKES"
    assert listed["DINKES"]["parent_code"] is None
    assert listed["BKPSDM"]["user_count"] == 1  # the admin


async def test_duplicate_opd_code_is_409(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    first = await client.post("/api/v1/opds", json={"code": "DINKES", "name": "A"}, headers=headers)
    assert first.status_code == 201
    before = opd_count()
    for code in ("DINKES", " dinkes "):
        r = await client.post("/api/v1/opds", json={"code": code, "name": "B"}, headers=headers)
        assert r.status_code == 409
        assert r.json()["error"] == "duplicate_opd"
        assert "DINKES" in r.json()["detail"]
    assert opd_count() == before


async def test_unknown_parent_opd_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    before = opd_count()
    r = await client.post(
        "/api/v1/opds",
        json={"code": "PKM", "name": "Puskesmas", "parent_code": "NOPE"},
        headers=headers,
    )
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "validation_error"
    assert body["field"] == "parent_code"
    assert "NOPE" in body["detail"] and "induk" in body["detail"]
    assert opd_count() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "   ", "name": "X"}, "code"),
        ({"code": "X", "name": " "}, "name"),
        ({"name": "X"}, "code"),
    ],
)
async def test_blank_opd_fields_are_422(
    client: httpx.AsyncClient, body: dict[str, str], field: str
) -> None:
    headers = await admin_headers(client)
    r = await client.post("/api/v1/opds", json=body, headers=headers)
    assert r.status_code == 422
    assert r.json()["field"] == field


# --- creating users --------------------------------------------------------------------------


async def test_create_user_returns_the_contract_fields(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    make_opd(code="DINKES", name="Dinas Kesehatan")
    r = await client.post(
        "/api/v1/users",
        json=new_user(nip="19880515 201203 2 003", roles=["mentor", "learner"], opd_code="dinkes"),
        headers=headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert isinstance(body["id"], int)
    assert body["nip"] == NIP
    assert body["name"] == "Rina Kartika, S.E."
    assert body["email"] == "rina.kartika@example.go.id"
    assert body["roles"] == ["learner", "mentor"]
    assert body["opd"] == {"code": "DINKES", "name": "Dinas Kesehatan"}
    assert body["employment"] == "PNS"
    assert body["pangkat_golongan"] == "III/b"
    assert body["jabatan"] == "Analis Keuangan"
    assert body["is_active"] is True
    # The record reads back the same, and the password works for the new account.
    assert (await client.get(f"/api/v1/users/{body['id']}", headers=headers)).json() == body
    own = await api_token(client, NIP, "Bakti-Negeri-2026")
    me = (await client.get("/api/v1/me", headers=own)).json()
    assert me["id"] == body["id"] and me["opd"] == body["opd"]


async def test_pangkat_is_normalised_and_employment_follows_a_pppk_nip(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_headers(client)
    make_opd(code="DINKES")
    pns = await client.post(
        "/api/v1/users", json=new_user(pangkat_golongan=" iii / B "), headers=headers
    )
    assert pns.status_code == 201, pns.text
    assert pns.json()["pangkat_golongan"] == "III/b"
    pppk = await client.post(
        "/api/v1/users",
        json=new_user(
            nip=PPPK_NIP, email="pppk@example.go.id", employment=None, pangkat_golongan="ix"
        ),
        headers=headers,
    )
    assert pppk.status_code == 201, pppk.text
    assert pppk.json()["employment"] == "PPPK"
    assert pppk.json()["pangkat_golongan"] == "IX"


@pytest.mark.parametrize(
    ("nip", "words"),
    [
        ("198802302012032003", ("Tanggal lahir", "30-02-1988")),
        ("1988051520120320", ("18 digit", "16")),
        ("19880515201203200X", ("angka", "X")),
        ("198805152012132003", ("Bulan TMT", "13")),
        ("198805152012033003", ("jenis kelamin",)),
        ("198805152012032000", ("Nomor urut", "000")),
        ("201001012020012001", ("sebelum usia 18",)),
    ],
)
async def test_bad_nip_is_422_naming_the_problem(
    client: httpx.AsyncClient, nip: str, words: tuple[str, ...]
) -> None:
    headers = await admin_headers(client)
    make_opd(code="DINKES")
    before = user_count()
    r = await client.post("/api/v1/users", json=new_user(nip=nip), headers=headers)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "validation_error"
    assert body["field"] == "nip"
    for word in words:
        assert word in body["detail"]
    assert user_count() == before


async def test_duplicate_nip_is_409(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    make_opd(code="DINKES")
    assert (await client.post("/api/v1/users", json=new_user(), headers=headers)).status_code == 201
    before = user_count()
    again = await client.post(
        "/api/v1/users",
        json=new_user(nip="19880515.201203.2.003", email="other@example.go.id"),
        headers=headers,
    )
    assert again.status_code == 409
    assert again.json()["error"] == "duplicate_nip"
    assert NIP in again.json()["detail"]
    assert user_count() == before


async def test_duplicate_email_is_409_whatever_the_case(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    make_opd(code="DINKES")
    assert (await client.post("/api/v1/users", json=new_user(), headers=headers)).status_code == 201
    r = await client.post(
        "/api/v1/users",
        json=new_user(nip="199001012015031002", email="RINA.KARTIKA@example.go.id"),
        headers=headers,
    )
    assert r.status_code == 409
    assert r.json()["error"] == "duplicate_email"
    assert "rina.kartika@example.go.id" in r.json()["detail"]


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("Pendek-1", ("minimal", "10")),
        ("password123", ("umum",)),
        ("BISMILLAH123", ("umum",)),
        ("aaaaaaaaaaaa", ("umum",)),
        (f"Rina{NIP}", ("NIP",)),
        ("rina.kartika-2026", ("email",)),
    ],
)
async def test_weak_password_is_422(
    client: httpx.AsyncClient, password: str, words: tuple[str, ...]
) -> None:
    headers = await admin_headers(client)
    make_opd(code="DINKES")
    before = user_count()
    r = await client.post("/api/v1/users", json=new_user(password=password), headers=headers)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "weak_password"
    assert body["field"] == "password"
    for word in words:
        assert word in body["detail"]
    assert user_count() == before


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"pangkat_golongan": "III/f"}, "pangkat_golongan", ("III/f", "tidak dikenal")),
        ({"pangkat_golongan": "IX"}, "pangkat_golongan", ("IX", "PNS")),
        ({"nip": PPPK_NIP, "pangkat_golongan": "IX"}, "employment", ("PPPK", "PNS")),
        ({"opd_code": "TIDAKADA"}, "opd_code", ("TIDAKADA",)),
        ({"email": "bukan-email"}, "email", ("Email tidak sah",)),
        ({"name": "   "}, "name", ("Nama",)),
        ({"jenis_jabatan": "direktur"}, "jenis_jabatan", ()),
        ({"roles": ["superuser"]}, "roles.0", ()),
        ({"employment": "honorer"}, "employment", ()),
    ],
)
async def test_invalid_profile_fields_are_422_naming_the_field(
    client: httpx.AsyncClient, overrides: dict[str, Any], field: str, words: tuple[str, ...]
) -> None:
    headers = await admin_headers(client)
    make_opd(code="DINKES")
    before = user_count()
    r = await client.post("/api/v1/users", json=new_user(**overrides), headers=headers)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == field
    for word in words:
        assert word in body["detail"]
    assert user_count() == before


async def test_user_needs_nip_or_email(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    r = await client.post("/api/v1/users", json={"name": "Tanpa Login"}, headers=headers)
    assert r.status_code == 422
    assert r.json()["field"] == "nip"


async def test_staff_account_without_nip(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    r = await client.post(
        "/api/v1/users",
        json={"name": "Operator Vendor", "email": "ops@vendor.example.com", "roles": ["content_admin"],
              "password": "Operator-Konten-77"},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["nip"] is None and r.json()["opd"] is None
    assert r.json()["roles"] == ["content_admin"]


# --- changing users --------------------------------------------------------------------------


async def test_patch_changes_roles_and_profile(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    make_opd(code="DINKES", name="Dinas Kesehatan")
    make_opd(code="DINDIK", name="Dinas Pendidikan")
    user = (await client.post("/api/v1/users", json=new_user(), headers=headers)).json()
    r = await client.patch(
        f"/api/v1/users/{user['id']}",
        json={"roles": ["training_officer", "learner"], "name": "Rina Kartika, S.E., M.M.",
              "jabatan": "Kepala Seksi", "pangkat_golongan": "III/c", "opd_code": "DINDIK"},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["roles"] == ["learner", "training_officer"]
    assert body["name"] == "Rina Kartika, S.E., M.M."
    assert body["jabatan"] == "Kepala Seksi"
    assert body["pangkat_golongan"] == "III/c"
    assert body["opd"] == {"code": "DINDIK", "name": "Dinas Pendidikan"}
    assert body["nip"] == NIP and body["email"] == user["email"]  # untouched fields stay
    again = (await client.get(f"/api/v1/users/{user['id']}", headers=headers)).json()
    assert again == body
    # The new role takes effect: a training officer reads other users' records.
    officer = await api_token(client, NIP, "Bakti-Negeri-2026")
    other = make_user()
    assert (await client.get(f"/api/v1/users/{other.id}", headers=officer)).status_code == 200


async def test_patch_rejects_bad_changes_and_keeps_the_record(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    make_opd(code="DINKES")
    user = (await client.post("/api/v1/users", json=new_user(), headers=headers)).json()
    taken = make_user(email="taken@example.go.id")
    for change, status, key, value in (
        ({"roles": []}, 422, "field", "roles"),
        ({"pangkat_golongan": "V/a"}, 422, "field", "pangkat_golongan"),
        ({"email": "Taken@Example.go.id"}, 409, "error", "duplicate_email"),
        ({"password": "password123"}, 422, "error", "weak_password"),
        ({"opd_code": "NOPE"}, 422, "field", "opd_code"),
    ):
        r = await client.patch(f"/api/v1/users/{user['id']}", json=change, headers=headers)
        assert r.status_code == status, (change, r.text)
        assert r.json()[key] == value
    assert (await client.get(f"/api/v1/users/{user['id']}", headers=headers)).json() == user
    assert taken.email == "taken@example.go.id"
    missing = await client.patch("/api/v1/users/999999", json={"name": "X"}, headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"] == "user_not_found"


async def test_patch_password_then_login_with_it(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    user = make_user()
    r = await client.patch(
        f"/api/v1/users/{user.id}", json={"password": "Sandi-Baru-Kuat-99"}, headers=headers
    )
    assert r.status_code == 200
    await api_token(client, user.email or "", "Sandi-Baru-Kuat-99")
    old = await client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": PASSWORD}
    )
    assert old.status_code == 401


async def test_only_admins_change_users(client: httpx.AsyncClient) -> None:
    officer = make_user(roles=("training_officer",))
    headers = await api_token(client, officer.email or "")
    r = await client.patch(
        f"/api/v1/users/{officer.id}", json={"roles": ["admin"]}, headers=headers
    )
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden_role"


# --- listing users ---------------------------------------------------------------------------


async def test_list_users_search_filter_and_paging(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    make_opd(code="DINKES")
    make_opd(code="DINDIK")
    names = ["Agus Salim", "Budi Santoso", "Citra Dewi", "Dewi Lestari", "Eka Putri"]
    for i, name in enumerate(names, start=1):
        make_user(
            name=name, nip=f"19900101201503{2 - i % 2}{i:03d}", email=f"{name.split()[0].lower()}@dinas.go.id",
            opd_code="DINKES" if i <= 3 else "DINDIK",
        )  # fmt: skip

    async def listing(**params: Any) -> dict[str, Any]:
        r = await client.get("/api/v1/users", params=params, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    everyone = await listing()
    assert everyone["total"] == 6  # five ASN and the admin
    assert [u["name"] for u in everyone["items"]] == sorted(u["name"] for u in everyone["items"])
    page1 = await listing(per_page=2, page=1)
    page3 = await listing(per_page=2, page=3)
    assert page1["total"] == 6 and len(page1["items"]) == 2
    assert len(page3["items"]) == 2
    assert {u["id"] for u in page1["items"]}.isdisjoint(u["id"] for u in page3["items"])
    assert (await listing(per_page=2, page=4))["items"] == []

    dewi = await listing(q="DEWI")
    assert sorted(u["name"] for u in dewi["items"]) == ["Citra Dewi", "Dewi Lestari"]
    assert dewi["total"] == 2
    by_nip = await listing(q="19900101 201503 2 002")
    assert [u["name"] for u in by_nip["items"]] == ["Budi Santoso"]
    by_email = await listing(q="eka@dinas")
    assert [u["name"] for u in by_email["items"]] == ["Eka Putri"]
    in_dindik = await listing(opd_code="dindik")
    assert sorted(u["name"] for u in in_dindik["items"]) == ["Dewi Lestari", "Eka Putri"]
    assert (await listing(q="dewi", opd_code="DINDIK"))["total"] == 1
    assert (await listing(q="%"))["total"] == 0  # a literal percent sign, not a wildcard
    assert (await listing(q="_"))["total"] == 0

    too_many = await client.get("/api/v1/users", params={"per_page": 500}, headers=headers)
    assert too_many.status_code == 422
    assert too_many.json()["field"] == "per_page"
    unknown_opd = await client.get("/api/v1/users", params={"opd_code": "NOPE"}, headers=headers)
    assert unknown_opd.status_code == 422
    assert unknown_opd.json()["field"] == "opd_code"


# --- admin pages -----------------------------------------------------------------------------


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<small class="field-error" id="e-{name}">(.*?)</small>', html, re.S)
    assert match, f"no error shown for {name}"
    return match.group(1)


def form(csrf: str, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": csrf, "nip": NIP, "name": "Rina Kartika", "email": "rina@example.go.id",
        "employment": "PNS", "pangkat_golongan": "III/b", "jabatan": "Analis Keuangan",
        "jenis_jabatan": "", "opd_code": "DINKES", "roles": ["learner", "mentor"],
        "password": "Bakti-Negeri-2026",
    }  # fmt: skip
    data.update(fields)
    return data


async def test_new_user_page_creates_the_account(client: httpx.AsyncClient) -> None:
    csrf = await admin_browser(client)
    make_opd(code="DINKES", name="Dinas Kesehatan")
    page = await client.get("/admin/users/new")
    assert page.status_code == 200
    assert 'name="nip"' in page.text and "DINKES" in page.text
    r = await client.post("/admin/users/new", data=form(csrf))
    assert r.status_code == 303, r.text
    saved = user_by_nip(NIP)
    assert saved is not None
    assert r.headers["location"] == f"/admin/users/{saved.id}?created=1"
    shown = await client.get(r.headers["location"])
    assert shown.status_code == 200
    assert "Pengguna dibuat" in shown.text and "Rina Kartika" in shown.text
    user = (
        await client.get(
            f"/api/v1/users/{saved.id}", headers=await api_token(client, NIP, "Bakti-Negeri-2026")
        )
    ).json()
    assert user["roles"] == ["learner", "mentor"]
    assert user["opd"]["code"] == "DINKES"


@pytest.mark.parametrize(
    ("fields", "name", "words"),
    [
        ({"nip": "198802302012032003"}, "nip", ("Tanggal lahir",)),
        ({"nip": "12345"}, "nip", ("18 digit",)),
        ({"password": "password123"}, "password", ("umum",)),
        ({"password": "pendek"}, "password", ("minimal",)),
        ({"email": "rina@"}, "email", ("Email tidak sah",)),
    ],
)
async def test_new_user_page_shows_the_field_error_and_saves_nothing(
    client: httpx.AsyncClient, fields: dict[str, str], name: str, words: tuple[str, ...]
) -> None:
    csrf = await admin_browser(client)
    make_opd(code="DINKES")
    before = user_count()
    r = await client.post("/admin/users/new", data=form(csrf, **fields))
    assert r.status_code == 422
    assert "text/html" in r.headers["content-type"]
    message = field_error(r.text, name)
    for word in words:
        assert word in message
    assert 'aria-invalid="true"' in r.text
    assert 'value="Rina Kartika"' in r.text  # what the admin typed is kept
    assert user_count() == before


async def test_new_user_page_pangkat_and_opd_errors(client: httpx.AsyncClient) -> None:
    csrf = await admin_browser(client)
    make_opd(code="DINKES")
    before = user_count()
    r = await client.post("/admin/users/new", data=form(csrf, pangkat_golongan="XX/z"))
    assert r.status_code == 422
    assert "tidak dikenal" in r.text
    r = await client.post("/admin/users/new", data=form(csrf, opd_code="NOPE"))
    assert r.status_code == 422
    assert "NOPE" in r.text
    assert user_count() == before


async def test_new_user_page_duplicate_nip_is_refused(client: httpx.AsyncClient) -> None:
    csrf = await admin_browser(client)
    make_opd(code="DINKES")
    make_user(nip=NIP)
    before = user_count()
    r = await client.post("/admin/users/new", data=form(csrf, email="second@example.go.id"))
    assert r.status_code == 409
    assert "sudah terdaftar" in r.text
    assert user_count() == before


async def test_new_user_page_without_csrf_saves_nothing(client: httpx.AsyncClient) -> None:
    await admin_browser(client)
    make_opd(code="DINKES")
    before = user_count()
    r = await client.post("/admin/users/new", data=form("0" * 64))
    assert r.status_code == 403
    assert user_count() == before


async def test_edit_user_page_changes_roles(client: httpx.AsyncClient) -> None:
    csrf = await admin_browser(client)
    user = make_user(name="Joko Widodo")
    page = await client.get(f"/admin/users/{user.id}")
    assert page.status_code == 200 and "Joko Widodo" in page.text
    r = await client.post(
        f"/admin/users/{user.id}",
        data={"csrf_token": csrf, "name": "Joko Susilo", "email": user.email, "roles": ["learner", "mentor"],
              "is_active": "on", "jabatan": "Kepala Seksi"},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    saved = user_by_nip(user.nip or "")
    assert saved is not None and saved.name == "Joko Susilo" and saved.jabatan == "Kepala Seksi"
    bad = await client.post(
        f"/admin/users/{user.id}",
        data={
            "csrf_token": csrf,
            "name": "Joko",
            "email": user.email,
            "roles": [],
            "is_active": "on",
        },
    )
    assert bad.status_code == 422
    assert "paling sedikit satu peran" in bad.text
    assert user_by_nip(user.nip or "").name == "Joko Susilo"  # type: ignore[union-attr]


async def test_opds_page_creates_and_reports_errors(client: httpx.AsyncClient) -> None:
    csrf = await admin_browser(client)
    page = await client.get("/admin/opds")
    assert page.status_code == 200
    r = await client.post(
        "/admin/opds", data={"csrf_token": csrf, "code": "dinkes", "name": "Dinas Kesehatan"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/opds?created=1"
    listed = await client.get(r.headers["location"])
    assert (
        "DINKES" in listed.text
        and "Dinas Kesehatan" in listed.text
        and "OPD ditambahkan" in listed.text
    )
    child = await client.post(
        "/admin/opds",
        data={"csrf_token": csrf, "code": "PKM", "name": "Puskesmas", "parent_code": "DINKES"},
    )
    assert child.status_code == 303
    count = opd_count()

    empty = await client.post(
        "/admin/opds", data={"csrf_token": csrf, "code": "", "name": "Tanpa Kode"}
    )
    assert empty.status_code == 422
    assert field_error(empty.text, "code")
    assert 'value="Tanpa Kode"' in empty.text
    duplicate = await client.post(
        "/admin/opds", data={"csrf_token": csrf, "code": "DINKES", "name": "Lagi"}
    )
    assert duplicate.status_code == 409
    assert "sudah ada" in duplicate.text
    orphan = await client.post(
        "/admin/opds", data={"csrf_token": csrf, "code": "X", "name": "X", "parent_code": "NOPE"}
    )
    assert orphan.status_code == 422
    assert "NOPE" in orphan.text
    assert opd_count() == count
    no_csrf = await client.post("/admin/opds", data={"code": "Y", "name": "Y"})
    assert no_csrf.status_code == 403
    assert opd_count() == count


async def test_admin_pages_are_for_admins_only(client: httpx.AsyncClient) -> None:
    from tests.factories import browser_login

    learner = make_user()
    await browser_login(client, learner.email or "")
    for path in ("/admin/users", "/admin/users/new", "/admin/opds", "/admin/users/import"):
        assert (await client.get(path)).status_code == 403, path


# --- WhatsApp numbers ------------------------------------------------------------------------


async def test_phone_is_normalised_on_create_and_update(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    make_opd(code="DINKES")
    r = await client.post("/api/v1/users", json=new_user(phone="0812 3456 7890"), headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["phone"] == "+6281234567890" and r.json()["activated_at"] is None
    uid = r.json()["id"]
    bad = await client.patch(f"/api/v1/users/{uid}", json={"phone": "12"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "phone"
    changed = await client.patch(f"/api/v1/users/{uid}", json={"phone": "+62 813-1111-2222"},
                                 headers=headers)  # fmt: skip
    assert changed.json()["phone"] == "+6281311112222"
    cleared = await client.patch(f"/api/v1/users/{uid}", json={"phone": None}, headers=headers)
    assert cleared.json()["phone"] is None


async def test_user_form_has_the_phone_field(client: httpx.AsyncClient) -> None:
    csrf = await admin_browser(client)
    make_opd(code="DINKES", name="Dinas Kesehatan")
    page = await client.get("/admin/users/new")
    assert 'name="phone"' in page.text and 'type="tel"' in page.text
    bad = await client.post("/admin/users/new", data=form(csrf, phone="021-5551234"))
    assert bad.status_code == 422 and "bukan nomor seluler" in field_error(bad.text, "phone")
    ok = await client.post("/admin/users/new", data=form(csrf, phone="081234567890"))
    assert ok.status_code == 303
    shown = await client.get(ok.headers["location"])
    assert 'value="+6281234567890"' in shown.text


def test_cli_users_create_takes_a_phone() -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    result = CliRunner().invoke(cli, [
        "users", "create", "--name", "Wati", "--nip", "199002022015032001",
        "--phone", "0812-3456-7890", "--password", "Sandi-Kuat-Sekali-2026",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    user = user_by_nip("199002022015032001")
    assert user is not None and user.phone == "+6281234567890"
    bad = CliRunner().invoke(cli, [
        "users", "create", "--name", "Wati", "--email", "wati@example.go.id",
        "--phone", "12", "--password", "Sandi-Kuat-Sekali-2026",
    ])  # fmt: skip
    assert bad.exit_code == 2 and "Nomor HP" in bad.output
