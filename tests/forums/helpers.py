"""People and runs for the forum tests: one run with learners, a facilitator and a grader, and
a second run of the same course with its own learner and facilitator (the "other run")."""

from __future__ import annotations

from typing import Any

import httpx

from app.core.db import session_scope
from app.courses.models import RunStaff
from tests.factories import api_token, enrol, make_course, make_opd, make_run, make_user

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def add_staff(run_id: int, user_id: int, role: str) -> None:
    with session_scope() as session:
        session.add(RunStaff(run_id=run_id, user_id=user_id, role=role))


async def people(client: httpx.AsyncClient, *, tokens: bool = True) -> dict[str, Any]:
    make_opd()
    course = make_course(title="Literasi Digital untuk ASN")
    run = make_run(course["course"])
    other_run = make_run(course["course"])
    users = {
        "learner": make_user(name="Ani Learner"),
        "learner2": make_user(name="Budi Peserta"),
        "outsider": make_user(name="Citra Lain"),  # a learner of the other run
        "facilitator": make_user(name="Drs. Fasilitator"),
        "other_facilitator": make_user(name="Fasilitator Lain"),
        "grader": make_user(name="Gita Penilai"),
        "officer": make_user(roles=("training_officer",), name="Rina Petugas"),
        "editor": make_user(roles=("content_admin",), name="Edi Konten"),
        "stranger": make_user(name="Sari Tanpa Kelas"),  # in no run of the course
    }
    enrol(run, users["learner"].id)
    enrol(run, users["learner2"].id)
    enrol(other_run, users["outsider"].id)
    add_staff(run, users["facilitator"].id, "facilitator")
    add_staff(run, users["grader"].id, "grader")
    add_staff(other_run, users["other_facilitator"].id, "facilitator")
    out: dict[str, Any] = {"run": run, "other_run": other_run, "course": course["course"]}
    for key, user in users.items():
        out[key] = user.id
        out[f"login_{key}"] = user.email
        if tokens:
            out[f"h_{key}"] = await api_token(client, user.email or "")
    return out


async def new_thread(
    client: httpx.AsyncClient, p: dict[str, Any], who: str = "learner", **body: Any
) -> dict[str, Any]:
    data = {"title": "Cara mengukur indeks SPBE?", "body": "Mohon pencerahan."} | body
    r = await client.post(
        f"/api/v1/runs/{p['run']}/forum/threads", json=data, headers=p[f"h_{who}"]
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def reply(
    client: httpx.AsyncClient, p: dict[str, Any], thread_id: int, who: str, body: str = "Setuju."
) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/forum/threads/{thread_id}/replies", json={"body": body}, headers=p[f"h_{who}"]
    )
    assert r.status_code == 201, r.text
    return dict(r.json())
