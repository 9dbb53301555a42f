"""SCORM through the API: upload a real package, serve its files, commit and resume runtime data,
and keep everything closed to learners who are not enrolled."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.factories import api_token, enrol, make_run, make_user
from tests.testdata import THIRD_PARTY

TESTDATA = THIRD_PARTY
PACKAGE = TESTDATA / "scorm12" / "singlescobasic.zip"


async def _scorm_course(client: httpx.AsyncClient) -> tuple[int, int]:
    """A published course with one SCORM activity; returns (course id, activity id)."""
    author = make_user(roles=("content_admin",))
    h = await api_token(client, author.email or "")
    course = await client.post(
        "/api/v1/courses",
        json={"code": "SCORM-1", "title": "Golf", "jp": 2, "category": "teknis"},
        headers=h,
    )
    section = await client.post(
        f"/api/v1/courses/{course.json()['id']}/sections", json={"title": "Modul"}, headers=h
    )
    activity = await client.post(
        f"/api/v1/sections/{section.json()['id']}/activities",
        data={"kind": "scorm", "title": "Golf basics"},
        files={"file": (PACKAGE.name, PACKAGE.read_bytes(), "application/zip")},
        headers=h,
    )
    assert activity.status_code == 201, activity.text
    assert (
        await client.post(f"/api/v1/courses/{course.json()['id']}/publish", headers=h)
    ).status_code == 200
    return course.json()["id"], activity.json()["id"]


def _token_for(user_id: int, url: str) -> str:
    """The same content URL with a genuine token for another user."""
    from app.core.config import get_settings
    from app.courses import content_origin

    token, package_id, _rest = url.split("/c/", 1)[1].split("/", 2)
    other = content_origin.mint(user_id, int(package_id), get_settings())
    return url.replace(f"/c/{token}/", f"/c/{other}/")


async def test_scorm_files_and_runtime_are_for_enrolled_learners_only(
    client: httpx.AsyncClient,
) -> None:
    course_id, activity_id = await _scorm_course(client)
    member, outsider = make_user(), make_user()
    enrol(make_run(course_id), member.id)
    member_h = await api_token(client, member.email or "")
    outsider_h = await api_token(client, outsider.email or "")

    launch = await client.get(f"/api/v1/activities/{activity_id}/content", headers=member_h)
    assert launch.status_code == 307
    launch_url = launch.headers["location"]
    # On the content origin, with a capability in the path: no cookie or bearer token needed.
    assert launch_url.startswith("http://testserver:81/c/")
    assert launch_url.endswith("/shared/launchpage.html")
    page = await client.get(launch_url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert b"<html" in page.content.lower()
    # The LMS origin no longer serves package files.
    same_origin = launch_url.replace("http://testserver:81/c/", "http://testserver/c/")
    assert (await client.get(same_origin, headers=member_h)).status_code == 404

    commit = {
        "launch_id": "launch-1",
        "seq": 1,
        "cmi": {
            "cmi.core.lesson_status": "incomplete",
            "cmi.core.lesson_location": "page-3",
            "cmi.core.session_time": "0000:01:30.00",
            "cmi.core.exit": "suspend",
            "cmi.suspend_data": "x" * 65_536,  # 64 KB: four times SCORM 1.2's cap, kept whole
        },
    }
    denied = {
        # A link whose token names the outsider (signed like ours, but no enrolment).
        "file": await client.get(_token_for(outsider.id, launch_url)),
        "content": await client.get(
            f"/api/v1/activities/{activity_id}/content", headers=outsider_h
        ),
        "progress": await client.post(
            f"/api/v1/activities/{activity_id}/progress",
            json={"event": "viewed"},
            headers=outsider_h,
        ),
        "commit": await client.post(
            f"/api/v1/activities/{activity_id}/scorm", json=commit, headers=outsider_h
        ),
    }
    assert {name: r.status_code for name, r in denied.items()} == dict.fromkeys(denied, 403)

    saved = await client.post(
        f"/api/v1/activities/{activity_id}/scorm", json=commit, headers=member_h
    )
    assert saved.status_code == 200 and saved.json()["status"] == "in_progress"
    retried = await client.post(
        f"/api/v1/activities/{activity_id}/scorm", json=commit, headers=member_h
    )
    assert retried.status_code == 200

    # The next launch resumes at the bookmark with the stored suspend_data and time counted once.
    player = await client.get(f"/activities/{activity_id}", headers=member_h)
    assert player.status_code == 200
    assert "&#34;entry&#34;: &#34;resume&#34;" in player.text
    assert "&#34;lesson_location&#34;: &#34;page-3&#34;" in player.text
    assert "&#34;total_time&#34;: &#34;0000:01:30.00&#34;" in player.text
    assert "x" * 65_536 in player.text

    done = dict(commit, seq=2, cmi={**commit["cmi"], "cmi.core.lesson_status": "completed"})  # type: ignore[dict-item]
    finished = await client.post(
        f"/api/v1/activities/{activity_id}/scorm", json=done, headers=member_h
    )
    assert finished.json() | {"status": "completed", "percent": 100, "position_seconds": 0.0} == (
        finished.json()
    )
    too_big = dict(commit, seq=3, cmi={**commit["cmi"], "cmi.suspend_data": "y" * (300 * 1024)})  # type: ignore[dict-item]
    refused = await client.post(
        f"/api/v1/activities/{activity_id}/scorm", json=too_big, headers=member_h
    )
    assert refused.status_code == 422 and refused.json()["error"] == "scorm_suspend_data_too_long"


async def test_hostile_package_leaves_nothing_behind(client: httpx.AsyncClient, settings) -> None:  # type: ignore[no-untyped-def]
    import io
    import zipfile

    from sqlalchemy import func, select

    from app.core.db import session_scope
    from app.courses.models import Activity, ScormFile, ScormPackage

    author = make_user(roles=("content_admin",))
    h = await api_token(client, author.email or "")
    course = await client.post(
        "/api/v1/courses",
        json={"code": "SCORM-2", "title": "Jahat", "jp": 1, "category": "teknis"},
        headers=h,
    )
    section = await client.post(
        f"/api/v1/courses/{course.json()['id']}/sections", json={"title": "M"}, headers=h
    )
    objects = Path(settings.storage_url.removeprefix("file://"))
    before = {p for p in objects.rglob("*") if p.is_file()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("imsmanifest.xml", zipfile.ZipFile(PACKAGE).read("imsmanifest.xml"))
        archive.writestr("../../etc/evil.html", "<script>alert(1)</script>")
    r = await client.post(
        f"/api/v1/sections/{section.json()['id']}/activities",
        data={"kind": "scorm", "title": "Evil"},
        files={"file": ("evil.zip", buffer.getvalue(), "application/zip")},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"] == "scorm_zip_slip"
    with session_scope() as s:
        assert [
            s.scalar(select(func.count()).select_from(m))
            for m in (Activity, ScormPackage, ScormFile)
        ] == [0, 0, 0]
    assert {p for p in objects.rglob("*") if p.is_file()} == before
