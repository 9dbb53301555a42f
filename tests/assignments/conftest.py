"""A course with an assignment, two runs, their learners and staff, for the assignments tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx

from app.core.db import session_scope, utcnow
from app.courses.models import RunStaff
from tests.courses.conftest import pdf_bytes
from tests.factories import api_token, enrol, make_course, make_run, make_user

__all__ = ["World", "iso", "make_world", "pdf_bytes", "upload"]


@dataclass
class World:
    course: int
    section: int
    run: int
    other_run: int
    admin: Any
    facilitator: Any
    grader: Any
    other_facilitator: Any
    learner: Any
    learner2: Any
    other_learner: Any
    outsider: Any


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def add_staff(run_id: int, user_id: int, role: str) -> None:
    with session_scope() as session:
        session.add(RunStaff(run_id=run_id, user_id=user_id, role=role))


def make_world() -> World:
    ids = make_course(pages=1)
    run, other_run = make_run(ids["course"]), make_run(ids["course"])
    admin = make_user(roles=("content_admin",), name="Admin Konten")
    facilitator = make_user(name="Fasilitator Satu")
    grader = make_user(name="Penilai Satu")
    other_facilitator = make_user(name="Fasilitator Lain")
    learner = make_user(name="Budi Santoso")
    learner2 = make_user(name="Siti Aminah")
    other_learner = make_user(name="Peserta Lain")
    outsider = make_user(name="Bukan Peserta")
    add_staff(run, facilitator.id, "facilitator")
    add_staff(run, grader.id, "grader")
    add_staff(other_run, other_facilitator.id, "facilitator")
    enrol(run, learner.id)
    enrol(run, learner2.id)
    enrol(other_run, other_learner.id)
    return World(
        ids["course"], ids["section"], run, other_run, admin, facilitator, grader,
        other_facilitator, learner, learner2, other_learner, outsider,
    )  # fmt: skip


async def headers(client: httpx.AsyncClient, user: Any) -> dict[str, str]:
    return await api_token(client, user.email)


async def create_assignment(client: httpx.AsyncClient, world: World, **details: Any) -> int:
    """An assignment activity through the API (the content admin), returns its id."""
    now = utcnow()
    form: dict[str, Any] = {
        "kind": "assignment",
        "title": "Laporan Aktualisasi",
        "instructions": "Unggah **laporan** Anda.",
        "due_at": iso(now + dt.timedelta(days=3)),
        "max_files": "2",
        "online_text": "true",
        "max_points": "100",
        "pass_points": "70",
    }
    form.update({k: str(v) for k, v in details.items()})
    response = await client.post(
        f"/api/v1/sections/{world.section}/activities",
        data=form,
        headers=await headers(client, world.admin),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def upload(
    client: httpx.AsyncClient,
    activity_id: int,
    auth: dict[str, str],
    data: bytes,
    name: str = "laporan.pdf",
) -> int:
    response = await client.post(
        f"/api/v1/assignments/{activity_id}/uploads/stream",
        params={"filename": name},
        content=data,
        headers={**auth, "content-type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["file_id"])
