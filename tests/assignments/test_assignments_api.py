"""Assignments through the API: kind creation, drafts and submissions with the late flag and the
cut-off, versions, rubric grading, release and completion, permissions, the ZIP and the queue."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import httpx
import pytest

from app.assignments import service
from app.core.db import session_scope, utcnow
from app.notifications.models import Notification
from app.progress.models import ActivityProgress
from tests.assignments.conftest import (
    create_assignment,
    headers,
    iso,
    make_world,
    pdf_bytes,
    upload,
)
from tests.queries import count_queries

pytestmark = pytest.mark.anyio


def later(monkeypatch: pytest.MonkeyPatch, days: float) -> None:
    """Submissions are judged `days` from now."""
    moment = utcnow() + dt.timedelta(days=days)
    monkeypatch.setattr(service, "now", lambda: moment)


async def submit(
    client: httpx.AsyncClient, aid: int, auth: dict[str, str], **body: Any
) -> httpx.Response:
    return await client.post(f"/api/v1/assignments/{aid}/submissions", json=body, headers=auth)


async def make_rubric(client: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/rubrics",
        json={
            "title": "Rubrik Aktualisasi",
            "criteria": [
                {"title": "Analisis isu", "levels": [
                    {"title": "Kurang", "points": 10}, {"title": "Baik", "points": 30},
                    {"title": "Sangat baik", "points": 50}]},
                {"title": "Rencana aksi", "levels": [
                    {"title": "Kurang", "points": 10}, {"title": "Baik", "points": 40},
                    {"title": "Sangat baik", "points": 50}]},
            ],
        },
        headers=auth,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_assignment_kind_is_created_and_shown(client: httpx.AsyncClient) -> None:
    world = make_world()
    aid = await create_assignment(client, world, late_policy="refuse", allowed_types="pdf, docx")
    items = service.assignment_items
    with session_scope() as session:
        found = items(session, world.course)
        deadlines = service.deadlines_for_runs(session, [world.run, world.other_run])
    assert [(i.activity_id, i.max_points, i.pass_points, i.weight) for i in found] == [
        (aid, 100.0, 70.0, 1.0)
    ]
    assert {(d.activity_id, d.run_id) for d in deadlines} == {
        (aid, world.run),
        (aid, world.other_run),
    }
    assert all(d.due_at.tzinfo is not None for d in deadlines)
    auth = await headers(client, world.learner)
    page = await client.get(f"/activities/{aid}", headers=auth)
    assert page.status_code == 200
    assert "Kumpulkan untuk dinilai" in page.text and "<strong>laporan</strong>" in page.text


async def test_bad_settings_are_refused(client: httpx.AsyncClient) -> None:
    world = make_world()
    auth = await headers(client, world.admin)
    for bad in ({"due_at": ""}, {"late_policy": "maybe"}, {"allowed_types": "exe"},
                {"cutoff_at": (utcnow() - dt.timedelta(days=1)).isoformat()}):  # fmt: skip
        form = {"kind": "assignment", "title": "T", "due_at": utcnow().isoformat(), **bad}
        response = await client.post(
            f"/api/v1/sections/{world.section}/activities", data=form, headers=auth
        )
        assert response.status_code == 422, (bad, response.text)


async def test_draft_then_submit_is_flagged_late(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world()
    aid = await create_assignment(client, world)
    auth = await headers(client, world.learner)
    file_id = await upload(client, aid, auth, pdf_bytes())
    draft = await submit(client, aid, auth, file_ids=[file_id], draft=True)
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    later(monkeypatch, 4)  # after due_at, no cut-off, policy "accept"
    done = await submit(client, aid, auth)
    assert done.status_code == 201, done.text
    assert done.json() == {
        "id": draft.json()["id"],
        "status": "submitted",
        "late": True,
        "version": 1,
    }
    mine = (await client.get(f"/api/v1/assignments/{aid}/submissions/mine", headers=auth)).json()
    assert [f["filename"] for f in mine[0]["files"]] == ["laporan.pdf"]
    with session_scope() as session:  # rule assignment_submitted completes on submit
        assert (
            session.query(ActivityProgress).filter_by(activity_id=aid, status="completed").count()
            == 1
        )


async def test_refused_after_cutoff(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world()
    now = utcnow()
    aid = await create_assignment(
        client, world, late_policy="refuse", cutoff_at=(now + dt.timedelta(days=5)).isoformat()
    )
    auth = await headers(client, world.learner)
    later(monkeypatch, 4)  # between due and cut-off: accepted, late
    first = await submit(client, aid, auth, text="Jawaban saya")
    assert first.status_code == 201 and first.json()["late"] is True
    later(monkeypatch, 6)
    refused = await submit(client, aid, auth, text="Terlambat sekali")
    assert refused.status_code == 409 and refused.json()["error"] == "assignment_closed"


async def test_resubmit_keeps_versions_until_graded(client: httpx.AsyncClient) -> None:
    world = make_world()
    aid = await create_assignment(client, world)
    auth = await headers(client, world.learner)
    one = await submit(client, aid, auth, text="Versi satu")
    two = await submit(client, aid, auth, text="Versi dua")
    assert (one.json()["version"], two.json()["version"]) == (1, 2)
    mine = (await client.get(f"/api/v1/assignments/{aid}/submissions/mine", headers=auth)).json()
    assert [(m["version"], m["status"], m["text"]) for m in mine] == [
        (2, "submitted", "Versi dua"),
        (1, "superseded", "Versi satu"),
    ]
    fac = await headers(client, world.facilitator)
    old = await client.post(
        f"/api/v1/submissions/{one.json()['id']}/grade", json={"points": 50}, headers=fac
    )
    assert old.status_code == 409
    graded = await client.post(
        f"/api/v1/submissions/{two.json()['id']}/grade", json={"points": 80}, headers=fac
    )
    assert graded.status_code == 200, graded.text
    again = await submit(client, aid, auth, text="Versi tiga")
    assert again.status_code == 409 and again.json()["error"] == "graded"


async def test_rubric_grade_hidden_until_release_then_passed_completes(
    client: httpx.AsyncClient,
) -> None:
    world = make_world()
    fac = await headers(client, world.facilitator)
    rubric = await make_rubric(client, fac)  # a facilitator builds the library too
    assert rubric["max_points"] == 100
    aid = await create_assignment(
        client, world, rubric_id=rubric["id"], completion_rule="assignment_passed",
        max_points="",
    )  # fmt: skip
    auth = await headers(client, world.learner)
    sub = (await submit(client, aid, auth, text="Laporan")).json()
    crit = rubric["criteria"]
    picks = [
        {"criterion_id": crit[0]["id"], "level_id": crit[0]["levels"][1]["id"]},  # 30
        {"criterion_id": crit[1]["id"], "level_id": crit[1]["levels"][2]["id"]},  # 50
    ]
    missing = await client.post(
        f"/api/v1/submissions/{sub['id']}/grade", json={"rubric": picks[:1]}, headers=fac
    )
    assert missing.status_code == 422
    grader = await headers(client, world.grader)
    graded = await client.post(
        f"/api/v1/submissions/{sub['id']}/grade",
        json={"rubric": picks, "feedback": "Rencana aksi kuat."}, headers=grader,
    )  # fmt: skip
    assert graded.status_code == 200, graded.text
    assert graded.json()["points"] == 80 and graded.json()["released"] is False
    hidden = (await client.get(f"/api/v1/submissions/{sub['id']}", headers=auth)).json()
    assert (
        hidden["points"] is None and hidden["feedback"] is None and hidden["status"] == "submitted"
    )
    with session_scope() as session:
        assert service.released_percent(session, world.run) == {}
        assert (
            session.query(ActivityProgress).filter_by(activity_id=aid, status="completed").count()
            == 0
        )
    refused = await client.post(
        f"/api/v1/assignments/{aid}/release", params={"run_id": world.run}, headers=grader
    )
    assert refused.status_code == 403  # a grader grades only; the facilitator releases
    released = await client.post(
        f"/api/v1/assignments/{aid}/release", params={"run_id": world.run}, headers=fac
    )
    assert released.status_code == 200, released.text
    assert released.json()["completed"] == 1 and released.json()["notified"] == 1
    shown = (await client.get(f"/api/v1/submissions/{sub['id']}", headers=auth)).json()
    assert (shown["points"], shown["max_points"], shown["feedback"]) == (
        80,
        100,
        "Rencana aksi kuat.",
    )
    assert {r["points"] for r in shown["rubric"]} == {30, 50}
    with session_scope() as session:
        assert service.released_percent(session, world.run) == {(aid, world.learner.id): 80.0}
        assert (
            session.query(ActivityProgress).filter_by(activity_id=aid, status="completed").count()
            == 1
        )
        assert (
            session.query(Notification)
            .filter_by(user_id=world.learner.id, event="assignment_graded")
            .count()
            == 1
        )
    page = await client.get(f"/activities/{aid}", headers=auth)
    assert "Rencana aksi kuat." in page.text


async def test_below_pass_mark_does_not_complete(client: httpx.AsyncClient) -> None:
    world = make_world()
    aid = await create_assignment(client, world, completion_rule="assignment_passed")
    auth = await headers(client, world.learner)
    fac = await headers(client, world.facilitator)
    sub = (await submit(client, aid, auth, text="Laporan")).json()
    await client.post(f"/api/v1/submissions/{sub['id']}/grade", json={"points": 60}, headers=fac)
    released = await client.post(
        f"/api/v1/assignments/{aid}/release", params={"run_id": world.run}, headers=fac
    )
    assert released.json()["completed"] == 0
    with session_scope() as session:
        assert service.released_percent(session, world.run) == {(aid, world.learner.id): 60.0}


async def test_permissions_on_submissions_and_grades(client: httpx.AsyncClient) -> None:
    world = make_world()
    aid = await create_assignment(client, world)
    auth = await headers(client, world.learner)
    file_id = await upload(client, aid, auth, pdf_bytes())
    sub = (await submit(client, aid, auth, file_ids=[file_id])).json()
    url = f"/api/v1/submissions/{sub['id']}"
    other_fac = await headers(client, world.other_facilitator)
    other_learner = await headers(client, world.other_learner)
    peer = await headers(client, world.learner2)
    outsider = await headers(client, world.outsider)
    for who in (other_fac, other_learner, peer, outsider):
        assert (await client.get(url, headers=who)).status_code == 403
        assert (await client.get(f"{url}/files/1", headers=who)).status_code in (403, 404)
        assert (
            await client.post(f"{url}/grade", json={"points": 1}, headers=who)
        ).status_code == 403
        queue = await client.get(
            f"/api/v1/assignments/{aid}/submissions", params={"run_id": world.run}, headers=who
        )
        assert queue.status_code == 403
    assert (await client.post(f"{url}/grade", json={"points": 1}, headers=auth)).status_code == 403
    assert (await client.get(url)).status_code == 401
    assert (await client.post(f"{url}/grade", json={"points": 1})).status_code == 401
    assert (await client.get("/api/v1/submissions/999999")).status_code == 401
    fac = await headers(client, world.facilitator)
    assert (await client.get("/api/v1/submissions/999999", headers=fac)).status_code == 404
    zip_url = f"/runs/{world.run}/submissions.zip"
    assert (
        await client.get(zip_url, params={"activity_id": aid}, headers=other_fac)
    ).status_code == 403
    # someone else's uploaded file cannot be handed in as one's own
    stolen = await submit(client, aid, peer, file_ids=[file_id])
    assert stolen.status_code == 403
    assert (await submit(client, aid, outsider, text="x")).status_code == 403
    own = await client.get(f"{url}/files/{sub_file_id(sub['id'])}", headers=auth)
    assert own.status_code == 200 and own.content.startswith(b"%PDF")


def sub_file_id(submission_id: int) -> int:
    from app.assignments.models import SubmissionFile

    with session_scope() as session:
        row = session.query(SubmissionFile).filter_by(submission_id=submission_id).one()
        return row.id


async def test_wrong_type_and_size_are_refused(client: httpx.AsyncClient) -> None:
    world = make_world()
    aid = await create_assignment(client, world, allowed_types="docx", max_file_mb="1")
    auth = await headers(client, world.learner)
    response = await client.post(
        f"/api/v1/assignments/{aid}/uploads/stream", params={"filename": "a.pdf"},
        content=pdf_bytes(), headers={**auth, "content-type": "application/octet-stream"},
    )  # fmt: skip
    assert response.status_code == 422 and response.json()["error"] == "type_not_allowed"
    big = await client.post(
        f"/api/v1/assignments/{aid}/uploads/stream", params={"filename": "a.docx"},
        content=b"x" * (2 * 1024 * 1024), headers={**auth, "content-type": "application/octet-stream"},
    )  # fmt: skip
    assert big.status_code == 413


async def test_zip_entries_are_named_by_nip_and_name(client: httpx.AsyncClient) -> None:
    world = make_world()
    aid = await create_assignment(client, world)
    for learner, data in (
        (world.learner, pdf_bytes(text="satu")),
        (world.learner2, pdf_bytes(text="dua")),
    ):
        auth = await headers(client, learner)
        fid = await upload(client, aid, auth, data, name="../Laporan Akhir?.pdf")
        assert (await submit(client, aid, auth, file_ids=[fid], text="Catatan")).status_code == 201
    fac = await headers(client, world.facilitator)
    response = await client.get(
        f"/runs/{world.run}/submissions.zip", params={"activity_id": aid}, headers=fac
    )
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    names = sorted(zipfile.ZipFile(io.BytesIO(response.content)).namelist())
    assert names == sorted([
        f"{world.learner.nip}_Budi Santoso/Laporan Akhir_.pdf",
        f"{world.learner.nip}_Budi Santoso/teks-daring.txt",
        f"{world.learner2.nip}_Siti Aminah/Laporan Akhir_.pdf",
        f"{world.learner2.nip}_Siti Aminah/teks-daring.txt",
    ])  # fmt: skip
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.read(f"{world.learner.nip}_Budi Santoso/Laporan Akhir_.pdf") == pdf_bytes(
        text="satu"
    )


async def test_grading_queue_statement_count_is_bounded(client: httpx.AsyncClient) -> None:
    world = make_world()
    aid = await create_assignment(client, world)
    fac = await headers(client, world.facilitator)
    from tests.factories import enrol, make_user

    async def queue_statements() -> int:
        with count_queries() as statements:
            response = await client.get(
                f"/api/v1/assignments/{aid}/submissions",
                params={"run_id": world.run, "state": "all"}, headers=fac,
            )  # fmt: skip
        assert response.status_code == 200
        return len(statements)

    auth = await headers(client, world.learner)
    await submit(client, aid, auth, text="a")
    few = await queue_statements()
    for i in range(6):
        user = make_user(name=f"Peserta {i}")
        enrol(world.run, user.id)
        await submit(client, aid, await headers(client, user), text=f"jawaban {i}")
    many = await queue_statements()
    # the same statements for 1 or 7 learners (the first call also reads the API token)
    assert many <= few <= 10
    page_before = await client.get(
        f"/assignments/{aid}/grading", params={"run_id": world.run, "state": "all"}, headers=fac
    )
    assert page_before.status_code == 200 and "Peserta 5" in page_before.text


async def test_grader_group_limits_who_grades(client: httpx.AsyncClient) -> None:
    """Only the assignment's grader group (plus facilitators) grades it; an unknown account in
    the group is refused when the assignment is created."""
    from tests.assignments.conftest import add_staff
    from tests.factories import make_user

    world = make_world()
    outside_group = make_user(name="Penilai Dua")
    add_staff(world.run, outside_group.id, "grader")
    admin = await headers(client, world.admin)
    form = {"kind": "assignment", "title": "Proyek perubahan", "instructions": "Unggah.",
            "due_at": iso(utcnow() + dt.timedelta(days=3)), "online_text": "true",
            "max_points": "100"}  # fmt: skip
    url = f"/api/v1/sections/{world.section}/activities"
    refused = await client.post(url, data={**form, "grader_ids": ["999999"]}, headers=admin)
    assert refused.status_code == 422 and "999999" in refused.text
    made = await client.post(url, data={**form, "grader_ids": [str(world.grader.id)]}, headers=admin)
    assert made.status_code == 201, made.text
    aid = made.json()["id"]
    sub = (await submit(client, aid, await headers(client, world.learner), text="Laporan")).json()
    grade = f"/api/v1/submissions/{sub['id']}/grade"
    denied = await client.post(
        grade, json={"points": 70}, headers=await headers(client, outside_group)
    )
    assert denied.status_code == 403
    for who in (world.grader, world.facilitator):
        ok = await client.post(grade, json={"points": 75}, headers=await headers(client, who))
        assert ok.status_code == 200, ok.text
