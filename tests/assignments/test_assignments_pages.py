"""The assignment pages: hand-in form on the activity page, grading with the rubric form,
release, the rubric library and its marking guide export."""

from __future__ import annotations

import httpx
import pytest

from app.assignments.models import Submission
from app.core.db import session_scope
from tests.assignments.conftest import create_assignment, make_world, pdf_bytes
from tests.factories import browser_login

pytestmark = pytest.mark.anyio


async def test_hand_in_grade_with_rubric_and_release_through_pages(
    client: httpx.AsyncClient, app: object
) -> None:
    world = make_world()
    transport = httpx.ASGITransport(app=app, client=("203.0.113.11", 50000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as fac:
        csrf = await browser_login(fac, world.facilitator.email)
        library = await fac.get("/rubrics")
        assert library.status_code == 200 and "Rubrik baru" in library.text
        made = await fac.post(
            "/rubrics",
            data={"csrf_token": csrf, "title": "Rubrik RTL",
                  "criteria": "# Isi | ketepatan\n40 | Baik | lengkap\n20 | Cukup\n"
                              "# Bahasa\n60 | Baik\n30 | Cukup"},
        )  # fmt: skip
        assert made.status_code == 303, made.text
        rubric_url = made.headers["location"]
        guide = await fac.get(rubric_url)
        assert guide.status_code == 200 and "Nilai maksimum 100" in guide.text
        exported = await fac.get(f"{rubric_url}/guide.csv")
        assert "Isi,Baik,40,lengkap" in exported.text
        rubric_id = int(rubric_url.rsplit("/", 1)[1])
    aid = await create_assignment(client, world, rubric_id=rubric_id, max_points="")
    csrf = await browser_login(client, world.learner.email)
    page = await client.get(f"/activities/{aid}")
    assert "Kumpulkan untuk dinilai" in page.text
    sent = await client.post(
        f"/assignments/{aid}/submit",
        data={"csrf_token": csrf, "action": "submit", "text": "Catatan saya"},
        files={"files": ("laporan.pdf", pdf_bytes(), "application/pdf")},
    )
    assert sent.status_code == 303, sent.text
    with session_scope() as session:
        sub = session.query(Submission).filter_by(activity_id=aid).one()
        sub_id = sub.id
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as fac:
        csrf_f = await browser_login(fac, world.facilitator.email)
        queue = await fac.get(f"/assignments/{aid}/grading", params={"run_id": world.run})
        assert queue.status_code == 200 and "Budi Santoso" in queue.text
        form = await fac.get(f"/submissions/{sub_id}/grade")
        assert form.status_code == 200 and "laporan.pdf" in form.text
        import re

        radios = re.findall(r'name="(crit_\d+)" value="(\d+)"', form.text)
        picks = {}
        for name, value in radios:
            picks.setdefault(name, value)  # the first (best) level of each criterion
        graded = await fac.post(
            f"/submissions/{sub_id}/grade",
            data={"csrf_token": csrf_f, "feedback": "Bagus sekali", **picks},
        )
        assert graded.status_code == 303, graded.text
        before = await client.get(f"/activities/{aid}")
        assert "Bagus sekali" not in before.text
        released = await fac.post(
            f"/assignments/{aid}/release", params={"run_id": world.run},
            data={"csrf_token": csrf_f},
        )  # fmt: skip
        assert released.status_code == 303
    after = await client.get(f"/activities/{aid}")
    assert "Bagus sekali" in after.text and "100" in after.text


async def test_other_run_facilitator_gets_403_on_pages(client: httpx.AsyncClient) -> None:
    world = make_world()
    aid = await create_assignment(client, world)
    await browser_login(client, world.other_facilitator.email)
    queue = await client.get(f"/assignments/{aid}/grading", params={"run_id": world.run})
    assert queue.status_code == 403
    zipped = await client.get(f"/runs/{world.run}/submissions.zip", params={"activity_id": aid})
    assert zipped.status_code == 403
