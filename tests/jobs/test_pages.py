"""The officers' scheduled-jobs pages: each job's cadence and last run, "Jalankan sekarang" with
and without htmx, the history per job; learners are refused."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.factories import browser_login, make_user
from tests.notifications.test_api import ran, sample_jobs  # noqa: F401 - the jobs fixture

HX = {"HX-Request": "true"}


async def login(client: httpx.AsyncClient, *roles: str) -> str:
    client.cookies.clear()
    return await browser_login(client, make_user(roles=roles).email)


def card(html: str, name: str) -> str:
    match = re.search(rf'<article class="job" id="job-{re.escape(name)}".*?</article>', html, re.S)
    assert match, f"no card for {name}"
    return match.group(0)


@pytest.mark.parametrize("path", ["/studio/jobs", "/studio/jobs/test.noop"])
async def test_jobs_pages_are_for_officers(client, sample_jobs, path: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    csrf = await login(client, "learner")
    assert (await client.get(path)).status_code == 403
    response = await client.post("/studio/jobs/test.noop/run", data={"csrf_token": csrf})
    assert response.status_code == 403 and ran == []
    await login(client, "admin")
    assert (await client.get(path)).status_code == 200


async def test_the_list_shows_each_job_with_its_schedule(client, sample_jobs, settings) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    await login(client, "training_officer")
    html = (await client.get("/studio/jobs")).text
    noop = card(html, "test.noop")
    assert "Tugas uji" in noop and "Bulanan" in noop and "tanggal 1" in noop
    assert f"pukul {settings.schedule_daily_at} WIB" in noop
    assert "Belum pernah dijalankan" in noop
    assert 'action="/studio/jobs/test.noop/run"' in noop and 'name="csrf_token"' in noop
    assert 'href="/studio/jobs/test.noop"' in noop
    assert "Harian" in card(html, "test.broken")


async def test_run_now_without_htmx_runs_and_the_page_shows_the_result(client, sample_jobs) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    csrf = await login(client, "training_officer")
    response = await client.post("/studio/jobs/test.noop/run", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/studio/jobs?ran=test.noop#job-test.noop"
    assert ran == ["noop"]
    noop = card((await client.get(response.headers["location"])).text, "test.noop")
    assert "Selesai dijalankan." in noop and "1 kali dijalankan" in noop
    assert "Selesai</span>" in noop

    history = (await client.get("/studio/jobs/test.noop")).text
    assert "1 kali dijalankan" in history and '<th scope="col">Periode</th>' in history
    assert (await client.post("/studio/jobs/test.noop/run", data={})).status_code == 403
    assert ran == ["noop"]


async def test_run_now_with_htmx_swaps_the_card(client, sample_jobs) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    csrf = await login(client, "admin")
    response = await client.post("/studio/jobs/test.noop/run", data={"csrf_token": csrf},
                                 headers=HX)  # fmt: skip
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="bell"' not in response.text
    noop = card(response.text, "test.noop")
    assert "Selesai dijalankan." in noop and "1 kali dijalankan" in noop
    assert 'role="status"' in noop and "data-swap-focus" in noop

    broken = await client.post("/studio/jobs/test.broken/run", data={"csrf_token": csrf},
                               headers=HX)  # fmt: skip
    text = card(broken.text, "test.broken")
    assert "Dijalankan, tetapi gagal." in text and "server SIASN tidak menjawab" in text


@pytest.mark.parametrize("name", ["nope", "x" * 150])
async def test_an_unknown_job_is_404(client, sample_jobs, name: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    csrf = await login(client, "training_officer")
    assert (await client.get(f"/studio/jobs/{name}")).status_code == 404
    response = await client.post(f"/studio/jobs/{name}/run", data={"csrf_token": csrf})
    assert response.status_code == 404


async def test_the_hub_counts_failed_jobs(client, sample_jobs) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    csrf = await login(client, "training_officer")
    await client.post("/studio/jobs/test.broken/run", data={"csrf_token": csrf})
    html: Any = (await client.get("/studio/notifications")).text
    assert "1 gagal pada jalannya terakhir" in html
