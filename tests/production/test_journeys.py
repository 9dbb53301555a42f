"""End-to-end journeys on the production stack through the real HTTP endpoints, alternating
between the two app processes: browser-style presigned multipart upload to SeaweedFS, a SCORM
package launched and committed, a post-test with autosaves, the certificate issued with its PDF
in S3, downloadable, and verified by the public page and API."""

from __future__ import annotations

import hashlib
import io
import os

import httpx

from tests.production.journey import (
    LEARNER_PASSWORD,
    answers_for,
    create_course,
    create_learners,
    enrol,
    expect,
    scorm_zip,
    staff,
)
from tests.production.stack import REPO, ProdStack, wait_until

VIDEO = REPO / "tests" / "data" / "short-150s.mp4"


def _pdf_bytes() -> bytes:
    """A real one-page PDF of about 6 MB (an incompressible image): two 5 MiB upload parts."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    noise = Image.frombytes("RGB", (1300, 1300), os.urandom(1300 * 1300 * 3))
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "Modul uji produksi - LMS Diklat ASN")
    page.drawImage(ImageReader(noise), 72, 300, 300, 300)
    page.showPage()
    page.save()
    return buffer.getvalue()


def _presigned_upload(author, kind: str, name: str, data: bytes) -> dict:  # type: ignore[no-untyped-def]
    """The browser uploader's flow: create, sign parts, PUT each part to S3, complete."""
    started = expect(author.post("/api/v1/uploads", json={
        "kind": kind, "filename": name, "size": len(data)}), 201)  # fmt: skip
    part_size, count = started["part_size"], started["part_count"]
    assert count == -(-len(data) // part_size)
    signed = expect(author.post(f"/api/v1/uploads/{started['upload_id']}/sign",
                                json={"part_numbers": list(range(1, count + 1))}), 200)  # fmt: skip
    parts = []
    with httpx.Client(timeout=60) as s3:  # straight to SeaweedFS, no LMS credentials
        for number in range(1, count + 1):
            url = signed["urls"][str(number)]
            chunk = data[(number - 1) * part_size : number * part_size]
            put = s3.put(url, content=chunk)
            assert put.status_code == 200, put.text
            parts.append({"part_number": number, "etag": put.headers["etag"]})
    listed = expect(author.get(f"/api/v1/uploads/{started['upload_id']}/parts"), 200)
    assert sorted(p["part_number"] for p in listed["parts"]) == list(range(1, count + 1))
    stored = expect(author.post(f"/api/v1/uploads/{started['upload_id']}/complete",
                                json={"parts": parts}), 201)  # fmt: skip
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored["size"] == len(data)
    return dict(stored)


def test_upload_scorm_quiz_certificate_and_verification(prod_stack: ProdStack) -> None:
    admin, officer, author = staff(prod_stack)
    s3 = prod_stack.s3_client()
    course = create_course(prod_stack, author, officer)

    # --- presigned multipart uploads (a 2-part PDF, a 1-part video) land in SeaweedFS --------
    pdf = _pdf_bytes()
    stored_pdf = _presigned_upload(author, "document", "modul.pdf", pdf)
    assert stored_pdf["content_type"] == "application/pdf"
    stored_video = _presigned_upload(author, "video", "video.mp4", VIDEO.read_bytes())
    for stored, data in ((stored_pdf, pdf), (stored_video, VIDEO.read_bytes())):
        key = prod_stack.scalar("SELECT storage_key FROM content_file WHERE id = :i",
                                i=stored["file_id"])  # fmt: skip
        body = s3.get_object(Bucket=prod_stack.s3_bucket, Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest()
    document = expect(author.post(f"/api/v1/sections/{course.section_id}/activities", data={
        "kind": "document", "title": "Modul PDF", "file_id": str(stored_pdf["file_id"]),
        "file_name": "modul.pdf", "required": "false"}), 201)  # fmt: skip
    video = expect(author.post(f"/api/v1/sections/{course.section_id}/activities", data={
        "kind": "video", "title": "Video pengantar", "file_id": str(stored_video["file_id"]),
        "file_name": "video.mp4", "required": "false"}), 201)  # fmt: skip

    # --- a SCORM package (multipart form upload, stored in S3) -------------------------------
    scorm = expect(author.post(
        f"/api/v1/sections/{course.section_id}/activities",
        data={"kind": "scorm", "title": "Latihan cek fakta"},
        files={"file": ("cek-fakta.zip", scorm_zip(), "application/zip")},
    ), 201)  # fmt: skip

    # --- the learner -------------------------------------------------------------------------
    (user,) = create_learners(admin, 1981, 1)
    enrol(officer, course.run_id, [user["nip"]])
    learner = prod_stack.api(user["nip"], LEARNER_PASSWORD)

    # Delivery from S3: presigned redirects that SeaweedFS answers with the stored bytes.
    for activity, data in ((document, pdf), (video, VIDEO.read_bytes())):
        launch = learner.get(f"/api/v1/activities/{activity['id']}/content")
        assert launch.status_code == 307, launch.text
        got = httpx.get(launch.headers["location"], timeout=60)
        assert got.status_code == 200 and got.content == data
    expect(learner.post(f"/api/v1/activities/{document['id']}/progress",
                        json={"event": "viewed"}), 200)  # fmt: skip

    # SCORM: launch, a file of the package through the LMS (from S3), commits on both apps.
    launch = learner.get(f"/api/v1/activities/{scorm['id']}/content")
    assert launch.status_code == 307, launch.text
    page = learner.get(launch.headers["location"], follow_redirects=True)
    assert page.status_code == 200 and b"<html" in page.content.lower()
    commit = {"launch_id": "prod-launch-1", "seq": 1, "cmi": {
        "cmi.core.lesson_status": "incomplete", "cmi.core.lesson_location": "halaman-2",
        "cmi.core.session_time": "0000:02:00.00", "cmi.core.exit": "suspend",
        "cmi.suspend_data": "p=2"}}  # fmt: skip
    assert expect(learner.post(f"/api/v1/activities/{scorm['id']}/scorm", json=commit),
                  200)["status"] == "in_progress"  # fmt: skip
    done = {**commit, "seq": 2, "cmi": {**commit["cmi"], "cmi.core.lesson_status": "completed"}}
    assert expect(learner.post(f"/api/v1/activities/{scorm['id']}/scorm", json=done),
                  200)["status"] == "completed"  # fmt: skip

    # --- the post-test: start, autosaves on both apps, submit once, graded -------------------
    attempt = expect(learner.post(f"/api/v1/quizzes/{course.quiz_id}/attempts"), 201)
    wrong = answers_for(attempt["questions"], right=False)
    right = answers_for(attempt["questions"])
    for answer in [*wrong, *right]:  # one autosave per answer change, last write wins
        expect(learner.put(f"/api/v1/attempts/{attempt['id']}/answers",
                           json={"answers": [answer]}), 200)  # fmt: skip
    resumed = expect(learner.get(f"/api/v1/attempts/{attempt['id']}"), 200)
    assert len(resumed["answers"]) == len(right)
    result = expect(learner.post(f"/api/v1/attempts/{attempt['id']}/submit"), 200)
    assert result["state"] == "graded" and result["passed"] is True
    assert result["percent"] == 100
    again = expect(learner.post(f"/api/v1/attempts/{attempt['id']}/submit"), 200)
    grade = ("id", "score", "max_score", "percent", "passed", "state")
    assert {k: again[k] for k in grade} == {k: result[k] for k in grade}  # graded once

    # --- the certificate: issued on completion, its PDF in SeaweedFS -------------------------
    def ready() -> dict | None:  # type: ignore[type-arg]
        mine = expect(learner.get("/api/v1/me/certificates"), 200)
        return next((c for c in mine if c["has_pdf"] and c["course_title"].endswith(course.code)),
                    None)  # fmt: skip

    cert = wait_until(ready, timeout=90, message="the certificate PDF")
    key, sha = prod_stack.rows("SELECT pdf_key, pdf_sha256 FROM certificate WHERE id = :i",
                               i=cert["id"])[0]  # fmt: skip
    in_s3 = s3.get_object(Bucket=prod_stack.s3_bucket, Key=key)["Body"].read()
    assert in_s3.startswith(b"%PDF-") and hashlib.sha256(in_s3).hexdigest() == sha
    downloaded = learner.get(f"/api/v1/certificates/{cert['id']}/pdf")
    assert downloaded.status_code == 200, downloaded.text
    assert downloaded.content == in_s3

    # --- public verification: API, page and the PDF itself, without a login ------------------
    with prod_stack.client(1) as public:
        verified = expect(public.get(f"/api/v1/verify/{cert['code']}"), 200)
        assert verified["status"] == "valid" and verified["number"] == cert["number"]
        assert verified["holder_name"] == user["name"]
        assert user["nip"] not in str(verified)  # the NIP is masked
        page = public.get(f"/verify/{cert['code']}")
        assert page.status_code == 200 and cert["number"] in page.text
        checked = expect(public.post("/api/v1/verify/pdf", files={
            "file": ("sertifikat.pdf", in_s3, "application/pdf")}), 200)  # fmt: skip
        assert checked["authentic"] is True, checked
        assert expect(public.get("/api/v1/verify/AAAA-BBBB-CCCC-DDDD"), 404)["error"]
    for client in (admin, officer, author, learner):
        client.close()
