"""The SIASN riwayat-kursus export holds every kind of development the ledger credits: the
year's certificates (e-learning, 16), verified mentoring (15) and verified external training."""

from __future__ import annotations

import datetime as dt

import httpx

from app.core import clock
from tests.factories import api_token, make_completed_run, make_opd, make_user, set_profile

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def test_siasn_export_has_certificates_mentoring_and_external_training(
    client: httpx.AsyncClient,
) -> None:
    today = clock.today()
    make_opd(code="DISKOMINFO")
    officer = make_user(roles=("training_officer",), name="Rina Petugas")
    mentor = make_user(roles=("mentor",), name="Kepala Dinas", opd_code="DISKOMINFO")
    run = make_completed_run(1, jp=10)
    learner_id = run["users"][0]  # type: ignore[index]
    set_profile(learner_id, opd_code="DISKOMINFO")
    staff = await api_token(client, officer.email or "")
    mentor_h = await api_token(client, mentor.email or "")
    from app.accounts.models import User
    from app.core.db import session_scope

    with session_scope() as session:
        learner = session.get(User, learner_id)
        assert learner is not None
        email, nip = learner.email or "", learner.nip
    mentee_h = await api_token(client, email)

    # Mentoring: one confirmed session, signed off and verified.
    body = {"mentor_id": mentor.id, "mentee_id": learner_id, "competency": "integritas",
            "goal": "Menjadi teladan integritas di unit kerja", "planned_sessions": 2,
            "starts_on": (today - dt.timedelta(days=20)).isoformat(),
            "ends_on": (today + dt.timedelta(days=40)).isoformat()}  # fmt: skip
    created = await client.post("/api/v1/mentoring/assignments", json=body, headers=staff)
    assert created.status_code == 201, created.text
    base = f"/api/v1/mentoring/assignments/{created.json()['id']}"
    logged = await client.post(f"{base}/sessions", headers=mentor_h, json={
        "held_on": (today - dt.timedelta(days=1)).isoformat(), "duration_minutes": 90,
        "goal": "Tujuan", "reality": "Kenyataan", "options": "Pilihan", "way_forward": "Langkah"})  # fmt: skip
    assert logged.status_code == 201, logged.text
    confirm = await client.post(f"{base}/sessions/{logged.json()['id']}/confirm", headers=mentee_h)
    assert confirm.status_code == 200, confirm.text
    assert (await client.post(f"{base}/signoff", headers=mentor_h)).status_code == 200
    verified = await client.post(f"{base}/verify", json={"approved": True}, headers=staff)
    assert verified.status_code == 200, verified.text

    # External training: one verified, one still pending (never exported).
    ids = []
    for number in ("800/77/BPSDM/2026", "800/78/BPSDM/2026"):
        recorded = await client.post("/api/v1/me/external-trainings", headers=mentee_h, data={
            "name": "Pelatihan SPBE Pemprov Banten", "organiser": "BPSDM Provinsi Banten",
            "starts_on": (today - dt.timedelta(days=3)).isoformat(),
            "ends_on": (today - dt.timedelta(days=2)).isoformat(), "jp": "16",
            "certificate_number": number, "funding_source": "apbd_provinsi", "mode": "e_learning",
        }, files={"file": ("sertifikat.pdf", PDF, "application/pdf")})  # fmt: skip
        assert recorded.status_code == 201, recorded.text
        ids.append(recorded.json()["id"])
    decided = await client.post(
        f"/api/v1/external-trainings/{ids[0]}/verify", json={"approved": True}, headers=staff
    )
    assert decided.status_code == 200, decided.text

    rows = (await client.get(f"/api/v1/reports/siasn?year={today.year}", headers=staff)).json()
    mine = [r for r in rows if r["nip"] == nip]
    assert sorted((r["jenisDiklatId"], r["jumlahJam"]) for r in mine) == [
        (15, 2),
        (16, 10),
        (16, 16),
    ]
    assert {r["nomorSertipikat"] for r in mine} >= {"800/77/BPSDM/2026"}
    assert "800/78/BPSDM/2026" not in {r["nomorSertipikat"] for r in rows}
    csv_text = (await client.get(f"/api/v1/reports/siasn?year={today.year}&format=csv",
                                 headers=staff)).text  # fmt: skip
    assert csv_text.count("\n") == len(rows) + 1
    learner_view = await client.get(f"/api/v1/reports/siasn?year={today.year}", headers=mentee_h)
    assert learner_view.status_code == 403
