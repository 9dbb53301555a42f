"""Issue 6 end to end through the API: assessment import → gap map → enrol-by-gap → the learner
completes the course → certificate → JP in the ledger and on the targets report."""

from __future__ import annotations

import httpx

from app.core import clock
from tests.factories import (
    api_token,
    issue_certificates,
    make_course,
    make_opd,
    make_run,
    make_user,
    set_profile,
)

STANDARDS = "jabatan,competency_code,required_level\nPranata Komputer,literasi_digital,3\n"


def _csv(rows: list[str]) -> bytes:
    return ("nip,competency_code,level,assessed_on,method\n" + "\n".join(rows) + "\n").encode()


async def test_import_gap_map_enrol_complete_and_jp(client: httpx.AsyncClient) -> None:
    make_opd(code="DISKOMINFO")
    make_opd(code="DINKES", name="Dinas Kesehatan")
    make_user(roles=("training_officer",), email="officer@example.go.id", name="Siti")
    weak = make_user(name="Agus Weak", opd_code="DISKOMINFO")
    strong = make_user(name="Budi Strong", opd_code="DISKOMINFO")
    elsewhere = make_user(name="Citra Dinkes", opd_code="DINKES")
    for user, opd in ((weak, "DISKOMINFO"), (strong, "DISKOMINFO"), (elsewhere, "DINKES")):
        set_profile(user.id, jabatan="Pranata Komputer", opd_code=opd)
    ids = make_course(code="LITDIG", jp=12, pages=2, competencies=("literasi_digital",))
    run_id = make_run(ids["course"])
    staff = await api_token(client, "officer@example.go.id")

    # Standards, then an assessments file with one bad row: nothing is imported.
    files = {"file": ("standar.csv", STANDARDS.encode(), "text/csv")}
    response = await client.post("/api/v1/competency/standards/import", files=files, headers=staff)
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 1
    today = clock.today().isoformat()
    bad = _csv([f"{weak.nip},literasi_digital,2,{today},assessment center",
                f"{strong.nip},literasi_digital,9,{today},assessment center"])  # fmt: skip
    response = await client.post(
        "/api/v1/competency/assessments/import",
        files={"file": ("asesmen.csv", bad, "text/csv")}, headers=staff,
    )  # fmt: skip
    body = response.json()
    assert body["imported"] == 0
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(3, "level")]
    gaps = await client.get(f"/api/v1/users/{weak.id}/gaps", headers=staff)
    assert gaps.json()["gaps"] == []  # the failed file left nothing behind

    good = _csv([f"{weak.nip},literasi_digital,2,{today},assessment center",
                 f"{strong.nip},literasi_digital,4,{today},assessment center",
                 f"{elsewhere.nip},literasi_digital,1,{today},assessment center"])  # fmt: skip
    response = await client.post(
        "/api/v1/competency/assessments/import",
        files={"file": ("asesmen.csv", good, "text/csv")}, headers=staff,
    )  # fmt: skip
    assert (response.json()["imported"], response.json()["errors"]) == (3, [])

    # The gap map: in DISKOMINFO one of two assessed ASN is below standard; in DINKES one of one.
    gap_map = (await client.get("/api/v1/reports/gap-map", headers=staff)).json()
    cells = {(c["opd_code"], c["competency"]): c for c in gap_map["cells"]}
    assert cells[("DISKOMINFO", "literasi_digital")]["assessed"] == 2
    assert cells[("DISKOMINFO", "literasi_digital")]["with_gap"] == 1
    assert cells[("DINKES", "literasi_digital")]["with_gap"] == 1

    # The weak ASN sees the gap and the course recommended for it.
    learner = await api_token(client, weak.email or "")
    mine = (await client.get(f"/api/v1/users/{weak.id}/gaps", headers=learner)).json()
    assert [(g["competency"], g["required"], g["achieved"], g["gap"]) for g in mine["gaps"]] == [
        ("literasi_digital", 3, 2, 1)
    ]
    assert [c["code"] for c in mine["recommended_courses"]] == ["LITDIG"]
    other = await client.get(f"/api/v1/users/{strong.id}/gaps", headers=learner)
    assert other.status_code == 404

    # Enrol-by-gap, limited to DISKOMINFO: the preview names only the weak ASN; then enrol.
    payload = {"competency": "literasi_digital", "opd_code": "DISKOMINFO", "run_id": run_id}
    preview = await client.post(
        "/api/v1/competency/enrol-by-gap", json=payload | {"dry_run": True}, headers=staff
    )
    assert [c["user_id"] for c in preview.json()["candidates"]] == [weak.id]
    assert preview.json()["result"] is None
    done = await client.post("/api/v1/competency/enrol-by-gap", json=payload, headers=staff)
    assert done.status_code == 200, done.text
    assert [e["user_id"] for e in done.json()["result"]["enrolled"]] == [weak.id]

    # The learner reads both pages: the run completes and the certificate carries the JP.
    for page in ("page1", "page2"):
        response = await client.post(
            f"/api/v1/activities/{ids[page]}/progress", json={"event": "viewed"}, headers=learner
        )
        assert response.status_code == 200, response.text
    issue_certificates()  # the outbox's auto-issue, right after the commit
    courses = (await client.get("/api/v1/me/courses", headers=learner)).json()
    assert courses[0]["completed"] is True
    assert courses[0]["certificate_id"] is not None
    year = clock.today().year
    jp = (await client.get(f"/api/v1/me/jp?year={year}", headers=learner)).json()
    assert jp["total_jp"] == 12
    assert [e["source"] for e in jp["entries"]] == ["certificate"]

    # The targets report counts the learner as participating, funded by the run's source.
    report = (await client.get(f"/api/v1/reports/targets?year={year}", headers=staff)).json()
    by_opd = {o["opd_code"]: o for o in report["by_opd"]}
    assert by_opd["DISKOMINFO"]["participated"] == 1
    assert by_opd["DINKES"]["participated"] == 0
    funding = {f["funding_source"]: f for f in report["by_funding_source"]}
    assert funding["apbd_kabupaten"]["participants"] == 1
    assert funding["apbd_kabupaten"]["jp"] == 12
