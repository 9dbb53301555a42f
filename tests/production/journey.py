"""Building blocks of the production journeys, all through the public HTTP API of the stack:
a course with a post-test, a run, learners, answers that pass. Used by the journey and fault
tests (and free for other production test modules to import)."""

from __future__ import annotations

import datetime as dt
import io
import secrets
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.production.stack import DEMO_NIPS, ProdStack, StackApi

REPO = Path(__file__).resolve().parents[2]
SCORM_FOLDER = (
    REPO / "content" / "literasi-digital-asn" / "03-praktik" / "02-latihan-cek-fakta.scorm"
)
LEARNER_PASSWORD = "Peserta-Uji-Produksi-2026"

# The post-test: three questions with their right answers (by choice text / value).
QUESTIONS: list[dict[str, Any]] = [
    {"type": "single", "text": "Pilar literasi digital yang membahas keamanan data?",
     "choices": [{"text": "Aman digital", "correct": True}, {"text": "Budaya digital"},
                 {"text": "Etika digital"}]},
    {"type": "truefalse", "text": "Kata sandi boleh dibagikan kepada rekan kerja.", "correct": False},
    {"type": "numeric", "text": "Berapa JP minimal per tahun bagi ASN?",
     "answers": [{"value": 20, "tolerance": 0}]},
]  # fmt: skip


def scorm_zip() -> bytes:
    """The project's own SCORM 1.2 package (content/, Apache-2.0) as a zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(SCORM_FOLDER.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(SCORM_FOLDER).as_posix())
    return buffer.getvalue()


def nip(year: int, index: int) -> str:
    """A valid NIP unique per (birth year, index < 999*28)."""
    day = 1 + (index // 999) % 28
    return f"{year}01{day:02d}2015031{index % 999 + 1:03d}"


def answers_for(questions: list[dict[str, Any]], *, right: bool = True) -> list[dict[str, Any]]:
    """Answers to QUESTIONS as shown in an attempt (choice ids looked up by text)."""
    out: list[dict[str, Any]] = []
    for q in questions:
        if q["type"] == "single":
            want = "Aman digital" if right else "Budaya digital"
            pick = next(c["id"] for c in q["choices"] if c["text"] == want)
            out.append({"question_id": q["id"], "choice_ids": [pick]})
        elif q["type"] == "truefalse":
            out.append({"question_id": q["id"], "choice_ids": ["false" if right else "true"]})
        elif q["type"] == "numeric":
            out.append({"question_id": q["id"], "value": 20 if right else 7})
    return out


def expect(response: Any, *codes: int) -> Any:
    assert response.status_code in codes, (
        f"{response.request.method} {response.request.url} -> {response.status_code}: "
        f"{response.text[:2000]}"
    )
    return response.json() if response.content and "json" in response.headers.get(
        "content-type", "") else None  # fmt: skip


@dataclass
class Course:
    id: int
    code: str
    section_id: int
    quiz_id: int
    quiz_activity_id: int
    run_id: int = 0
    activity_ids: list[int] = field(default_factory=list)


def create_course(
    stack: ProdStack, author: StackApi, officer: StackApi, *, auto_issue: bool = True,
    extra_activities: bool = False,
) -> Course:  # fmt: skip
    """A published course with a post-test (the only required activity unless
    `extra_activities`), its certification rules and an open run; all through the API."""
    code = f"PROD-{secrets.token_hex(3).upper()}"
    course = expect(author.post("/api/v1/courses", json={
        "code": code, "title": f"Uji produksi {code}", "jp": 2, "category": "teknis"}), 201)  # fmt: skip
    section = expect(author.post(f"/api/v1/courses/{course['id']}/sections",
                                 json={"title": "Modul uji"}), 201)  # fmt: skip
    quiz = expect(author.post(f"/api/v1/sections/{section['id']}/quizzes", json={
        "title": "Post-test", "kind": "posttest", "pass_score": 60, "grading": "highest",
        "max_attempts": 3, "duration_minutes": 30}), 201)  # fmt: skip
    for question in QUESTIONS:
        expect(author.post(f"/api/v1/quizzes/{quiz['id']}/questions", json=question), 201)
    result = Course(id=course["id"], code=code, section_id=section["id"], quiz_id=quiz["id"],
                    quiz_activity_id=quiz["activity_id"])  # fmt: skip
    expect(officer.put(f"/api/v1/courses/{course['id']}/certification-rules",
                       json={"auto_issue": auto_issue, "pass_score": 60}), 200)  # fmt: skip
    expect(author.post(f"/api/v1/courses/{course['id']}/publish"), 200)
    today = dt.date.today()
    run = expect(officer.post(f"/api/v1/courses/{course['id']}/runs", json={
        "name": f"Angkatan {code}", "starts_on": str(today - dt.timedelta(days=1)),
        "ends_on": str(today + dt.timedelta(days=30)), "funding_source": "apbd_kabupaten",
        "self_enrol": True}), 201)  # fmt: skip
    result.run_id = run["id"]
    return result


def create_learners(admin: StackApi, year: int, count: int, *, start: int = 0,
                    email_domain: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """`count` learner accounts (NIPs from `nip(year, i)`), password LEARNER_PASSWORD."""
    users = []
    for i in range(start, start + count):
        body: dict[str, Any] = {"nip": nip(year, i), "name": f"Peserta Uji {year}-{i}",
                                "password": LEARNER_PASSWORD, "opd_code": "BKPSDM"}  # fmt: skip
        if email_domain:
            body["email"] = f"peserta{year}.{i}@{email_domain}"
        users.append(expect(admin.post("/api/v1/users", json=body), 201))
    return users


def enrol(officer: StackApi, run_id: int, nips: list[str]) -> None:
    expect(officer.post(f"/api/v1/runs/{run_id}/enrolments", json={"nips": nips}), 201)


def pass_posttest(learner: StackApi, quiz_id: int) -> dict[str, Any]:
    """Start, autosave the right answers, submit: the graded result."""
    attempt = expect(learner.post(f"/api/v1/quizzes/{quiz_id}/attempts"), 200, 201)
    expect(learner.put(f"/api/v1/attempts/{attempt['id']}/answers",
                       json={"answers": answers_for(attempt["questions"])}), 200)  # fmt: skip
    return dict(expect(learner.post(f"/api/v1/attempts/{attempt['id']}/submit"), 200))


def staff(stack: ProdStack) -> tuple[StackApi, StackApi, StackApi]:
    """(admin, training officer, content admin) API clients of the demo accounts."""
    return (stack.api(DEMO_NIPS["admin"]), stack.api(DEMO_NIPS["training_officer"]),
            stack.api(DEMO_NIPS["content_admin"]))  # fmt: skip
