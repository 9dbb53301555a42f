"""GET /users/{id}/gaps (who may see it, JPM, recommendations), the gap map, enrol-by-gap and
the catalog API."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.core.config import get_settings
from app.core.db import session_scope
from app.courses.models import CourseCompetency, Enrolment
from tests.competency.helpers import asn, assess, standard
from tests.factories import api_token, make_course, make_run, make_user
from tests.queries import count_queries


async def login(client, user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return await api_token(client, user.email)


def officer():  # type: ignore[no-untyped-def]
    return make_user(roles=("training_officer",), nip=None, name="Petugas Diklat")


def set_target(course_id: int, code: str, level: int | None) -> None:
    with session_scope() as session:
        row = session.get(CourseCompetency, (course_id, code))
        assert row is not None
        row.target_level = level


async def test_gaps_self_staff_and_others(client) -> None:  # type: ignore[no-untyped-def]
    me = asn(name="Saya")
    other = asn(name="Orang Lain")
    standard("Pranata Komputer Ahli Pertama", "literasi_digital", 4)
    standard("*", "integritas", 3)
    assess(me.id, "literasi_digital", 2, on=dt.date(2026, 2, 1))
    assess(me.id, "integritas", 3, on=dt.date(2026, 1, 5))
    mine = await client.get(f"/api/v1/users/{me.id}/gaps", headers=await login(client, me))
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["jpm_percent"] == round(5 / 7 * 100, 2) and body["band"] == "kurang_optimal"
    assert body["gaps"] == [
        {"competency": "literasi_digital", "name": "Literasi Digital", "required": 4,
         "achieved": 2, "gap": 2}
    ]  # fmt: skip
    assert body["assessed_on"] == "2026-02-01"
    assert len(body["competencies"]) == 2
    peek = await client.get(f"/api/v1/users/{me.id}/gaps", headers=await login(client, other))
    assert peek.status_code == 404 and peek.json()["error"] == "user_not_found"
    staff = await client.get(f"/api/v1/users/{me.id}/gaps", headers=await login(client, officer()))
    assert staff.status_code == 200 and staff.json()["gaps"][0]["gap"] == 2
    assert (await client.get(f"/api/v1/users/{me.id}/gaps")).status_code == 401
    missing = await client.get("/api/v1/users/999999/gaps", headers=await login(client, officer()))
    assert missing.status_code == 404


async def test_unassessed_user_has_no_jpm(client) -> None:  # type: ignore[no-untyped-def]
    me = asn()
    body = (await client.get("/api/v1/me/gaps", headers=await login(client, me))).json()
    assert body["jpm_percent"] is None and body["band"] is None and body["gaps"] == []


async def test_recommended_courses_and_mentors(client) -> None:  # type: ignore[no-untyped-def]
    me = asn(name="Saya", opd_code="DISKOMINFO")
    standard("*", "literasi_digital", 4)
    assess(me.id, "literasi_digital", 2)
    open_course = make_course(code="LD-OPEN", title="Literasi Digital Lanjut")
    make_run(open_course["course"])
    make_course(code="LD-NORUN", title="Aaa Literasi tanpa angkatan")
    too_low = make_course(code="LD-LOW", title="Literasi Dasar")
    set_target(too_low["course"], "literasi_digital", 2)  # does not reach above level 2
    reach = make_course(code="LD-L3", title="Literasi Menengah")
    set_target(reach["course"], "literasi_digital", 3)
    make_course(code="LD-DRAFT", published=False)
    make_course(code="INT-1", competencies=("integritas",))
    far = asn(name="Mentor Jauh", opd_code="BAPPEDA", roles=("learner", "mentor"))
    near = asn(name="Mentor Dekat", opd_code="DISKOMINFO", roles=("learner", "mentor"))
    weak = asn(name="Mentor Lemah", opd_code="DISKOMINFO", roles=("learner", "mentor"))
    peer = asn(name="Bukan Mentor", opd_code="DISKOMINFO")
    for user, level in ((far, 5), (near, 4), (weak, 3), (peer, 5)):
        assess(user.id, "literasi_digital", level)
    body = (await client.get("/api/v1/me/gaps", headers=await login(client, me))).json()
    codes = [c["code"] for c in body["recommended_courses"]]
    assert codes == ["LD-OPEN", "LD-L3", "LD-NORUN"]  # open run first, then a fitting level
    assert body["recommended_courses"][0]["run_id"] is not None
    assert [m["name"] for m in body["recommended_mentors"]] == ["Mentor Dekat", "Mentor Jauh"]
    assert body["recommended_mentors"][0]["same_opd"] is True


async def test_gap_map_counts_share_per_opd(client) -> None:  # type: ignore[no-untyped-def]
    standard("*", "integritas", 3)
    standard("*", "literasi_digital", 3)
    levels = {"DISKOMINFO": [1, 2, 3, 4], "BAPPEDA": [3, 3]}
    for opd, values in levels.items():
        for i, level in enumerate(values):
            user = asn(name=f"{opd} {i}", opd_code=opd)
            assess(user.id, "integritas", level, on=dt.date(2026, 1, 1))
            if opd == "BAPPEDA":
                assess(user.id, "literasi_digital", 1)
    inactive = asn(name="Nonaktif", opd_code="BAPPEDA")
    assess(inactive.id, "integritas", 1)
    with session_scope() as session:
        from app.accounts.models import User

        row = session.get(User, inactive.id)
        assert row is not None
        row.is_active = False
    headers = await login(client, officer())
    with count_queries() as statements:
        response = await client.get("/api/v1/reports/gap-map", headers=headers)
    assert response.status_code == 200
    cells = {(c["competency"], c["opd_code"]): c for c in response.json()["cells"]}
    assert cells[("integritas", "DISKOMINFO")] | {} == {
        "competency": "integritas", "opd_code": "DISKOMINFO", "assessed": 4, "with_gap": 2,
        "gap_percent": 50.0,
    }  # fmt: skip
    assert cells[("integritas", "BAPPEDA")]["with_gap"] == 0
    assert cells[("literasi_digital", "BAPPEDA")]["gap_percent"] == 100.0
    assert [o["code"] for o in response.json()["opds"]] == ["BAPPEDA", "DISKOMINFO"]
    assert len(statements) < 10  # constant: auth, catalog, OPDs, one GROUP BY
    teknis = await client.get(
        "/api/v1/reports/gap-map", params={"competency_group": "teknis", "opd": "BAPPEDA"},
        headers=headers,
    )  # fmt: skip
    assert {c["competency"] for c in teknis.json()["cells"]} == {"literasi_digital"}
    bad = await client.get("/api/v1/reports/gap-map", params={"opd": "NOPE"}, headers=headers)
    assert bad.status_code == 422
    learner = asn(name="Pelajar")
    denied = await client.get("/api/v1/reports/gap-map", headers=await login(client, learner))
    assert denied.status_code == 403


async def test_enrol_by_gap_preview_then_enrol(client) -> None:  # type: ignore[no-untyped-def]
    standard("*", "literasi_digital", 3)
    weak = asn(name="Lemah", opd_code="DISKOMINFO")
    strong = asn(name="Kuat", opd_code="DISKOMINFO")
    elsewhere = asn(name="Lain OPD", opd_code="BAPPEDA")
    assess(weak.id, "literasi_digital", 1)
    assess(strong.id, "literasi_digital", 3)
    assess(elsewhere.id, "literasi_digital", 2)
    run_id = make_run(make_course()["course"])
    headers = await login(client, officer())
    payload = {"competency": "literasi_digital", "opd_code": "DISKOMINFO", "run_id": run_id}
    preview = await client.post(
        "/api/v1/competency/enrol-by-gap", json=payload | {"dry_run": True}, headers=headers
    )
    assert preview.status_code == 200, preview.text
    assert [(c["name"], c["achieved"], c["required"]) for c in preview.json()["candidates"]] == [
        ("Lemah", 1, 3)
    ]
    assert preview.json()["result"] is None
    with session_scope() as session:
        assert session.scalars(select(Enrolment)).all() == []
    done = await client.post("/api/v1/competency/enrol-by-gap", json=payload, headers=headers)
    assert done.status_code == 200
    assert [e["user_id"] for e in done.json()["result"]["enrolled"]] == [weak.id]
    again = await client.post(
        "/api/v1/competency/enrol-by-gap", json=payload | {"opd_code": None}, headers=headers
    )
    result = again.json()["result"]
    assert [e["user_id"] for e in result["enrolled"]] == [elsewhere.id]
    assert [s["user_id"] for s in result["skipped"]] == [weak.id]  # already enrolled
    unknown = await client.post(
        "/api/v1/competency/enrol-by-gap", json=payload | {"competency": "nope"}, headers=headers
    )
    assert unknown.status_code == 404
    learner_headers = await login(client, weak)
    denied = await client.post(
        "/api/v1/competency/enrol-by-gap", json=payload, headers=learner_headers
    )
    assert denied.status_code == 403


async def test_catalog_list_create_update_deactivate(client) -> None:  # type: ignore[no-untyped-def]
    learner = asn()
    listed = await client.get("/api/v1/competencies", headers=await login(client, learner))
    assert listed.status_code == 200 and len(listed.json()) == 12
    first = next(c for c in listed.json() if c["code"] == "integritas")
    levels = [lv["level"] for lv in first["levels"]]
    assert first["group"] == "manajerial" and levels == [1, 2, 3, 4, 5]
    headers = await login(client, officer())
    created = await client.post(
        "/api/v1/competencies",
        json={"code": "Analisis-Data", "name": "Analisis Data", "group": "teknis",
              "level_descriptions": ["Mengenal", "Menerapkan"]},
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "analisis_data"
    assert created.json()["levels"][1] == {"level": 2, "description": "Menerapkan"}
    dup = await client.post(
        "/api/v1/competencies", json={"code": "analisis_data", "name": "X Y"}, headers=headers
    )
    assert dup.status_code == 409
    too_many = await client.patch(
        "/api/v1/competencies/analisis_data", json={"max_level": 1}, headers=headers
    )
    assert too_many.status_code == 422 and too_many.json()["detail"]
    patched = await client.patch(
        "/api/v1/competencies/analisis_data", json={"name": "Analitik Data"}, headers=headers
    )
    assert patched.json()["name"] == "Analitik Data"
    gone = await client.delete("/api/v1/competencies/analisis_data", headers=headers)
    assert gone.json()["is_active"] is False
    active = await client.get("/api/v1/competencies", headers=headers)
    assert "analisis_data" not in {c["code"] for c in active.json()}
    every = await client.get("/api/v1/competencies?include_inactive=true", headers=headers)
    assert "analisis_data" in {c["code"] for c in every.json()}
    denied = await client.post(
        "/api/v1/competencies", json={"code": "x1", "name": "Xy"},
        headers=await login(client, learner),
    )  # fmt: skip
    assert denied.status_code == 403


async def test_gaps_use_a_constant_number_of_queries(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Every request resolves its caller from the database, so both counts include that query.
    monkeypatch.setattr(get_settings(), "principal_cache_seconds", 0.0)
    me = asn(name="Saya")
    headers = await login(client, me)

    codes = iter(("integritas", "kerja_sama", "komunikasi", "spbe", "literasi_digital"))

    async def statements_for(competencies: int) -> int:
        for _ in range(competencies):
            code = next(codes)
            standard("*", code, 4)
            assess(me.id, code, 1, on=dt.date(2026, 1, competencies))
            course = make_course(competencies=(code,))
            make_run(course["course"])
        with count_queries() as statements:
            response = await client.get("/api/v1/me/gaps", headers=headers)
        assert response.status_code == 200
        return len(statements)

    assert await statements_for(1) == await statements_for(4)
