"""Course as code: the real demo folders in content/ import completely and idempotently; edits
update in place; broken folders are refused naming the file and field, leaving nothing behind.
Mutation tests work on tmp_path copies; the storage is the test settings' local disk.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import io
import json
import os
import shutil
import threading
import urllib.parse
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.core.config import Settings
from app.core.db import session_scope
from app.core.errors import LMSError, ValidationFailed
from app.courses import content_import, repository, service
from app.courses.content_import import CONTENT_ROOT, ImportReport, import_all, import_course
from app.courses.models import (
    Activity,
    ContentFile,
    Course,
    Run,
    ScormFile,
    ScormPackage,
    Section,
)
from app.courses.scorm import inspect_package
from app.progress import service as progress_service
from app.quizzes import service as quiz_service
from app.quizzes.models import Attempt, BankQuestion, Quiz, QuizSlot
from app.quizzes.schemas import AnswersIn
from app.storage.service import get_storage
from tests.factories import enrol, make_user

ROOT = Path(__file__).resolve().parents[2]
LITERASI = CONTENT_ROOT / "literasi-digital-asn"
KEAMANAN = CONTENT_ROOT / "keamanan-informasi-dasar"

EXPECTED = {
    "LITDIG-ASN": [
        ("Pengantar: ASN di Era Digital", ["quiz", "page", "video", "page"]),
        ("Empat Pilar Literasi Digital", ["page", "page", "page", "page", "document"]),
        ("Praktik: Informasi yang Dapat Dipercaya", ["page", "scorm", "file", "link", "quiz"]),
    ],
    "KAMINFO-DASAR": [
        ("Dasar Keamanan Informasi", ["page", "video", "page"]),
        ("Ancaman Sehari-hari", ["page", "page", "scorm"]),
        ("Melindungi Data dan Melaporkan Insiden", ["page", "page", "document", "link", "quiz"]),
    ],
}


ACTIVITY_FIELDS = (
    "id", "section_id", "position", "kind", "title", "duration_minutes", "required", "hidden",
    "locked_until_previous", "body_md", "url", "file_id", "file_name", "scorm_package_id",
    "completion_rule",
)  # fmt: skip


def count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def outline(session: Session, code: str) -> list[tuple[str, list[Activity]]]:
    course = repository.get_course_by_code(session, code)
    assert course is not None
    return [
        (s.title, list(repository.activities_of_section(session, s.id)))
        for s in repository.sections_of(session, course.id)
    ]


def snapshot(session: Session) -> dict[str, Any]:
    """Every id and every value an import writes, to compare two imports."""
    activities = session.scalars(select(Activity).order_by(Activity.id)).all()
    return {
        "courses": [
            (c.id, c.code, c.title, c.jp, c.status, c.summary, c.description_md)
            for c in session.scalars(select(Course).order_by(Course.id))
        ],
        "sections": [
            (s.id, s.course_id, s.position, s.title)
            for s in session.scalars(select(Section).order_by(Section.id))
        ],
        "activities": [tuple(getattr(a, name) for name in ACTIVITY_FIELDS) for a in activities],
        "runs": [
            (r.id, r.name, r.starts_on, r.ends_on)
            for r in session.scalars(select(Run).order_by(Run.id))
        ],
        "files": count(session, ContentFile),
        "packages": count(session, ScormPackage),
        "scorm_files": count(session, ScormFile),
        "quizzes": [
            (q.id, q.activity_id, q.kind, q.pass_score, q.time_limit_seconds, q.max_attempts)
            for q in session.scalars(select(Quiz).order_by(Quiz.id))
        ],
        "slots": [
            (s.quiz_id, s.position, s.question_id)
            for s in session.scalars(select(QuizSlot).order_by(QuizSlot.id))
        ],
        "questions": count(session, BankQuestion),
    }


def import_folder(settings: Settings, folder: Path) -> ImportReport:
    with session_scope() as session:
        return import_course(session, settings, folder)


def copy_course(tmp_path: Path, source: Path = LITERASI) -> Path:
    target = tmp_path / "content" / source.name
    shutil.copytree(source, target)
    return target


def learner_progress(course_code: str, activity_id: int) -> None:
    """A learner enrolled in the course's run who has opened the activity."""
    user = make_user(roles=("learner",))
    with session_scope() as session:
        course = repository.get_course_by_code(session, course_code)
        assert course is not None
        run_id = repository.runs_of(session, [course.id])[0].id
    enrolment_id = enrol(run_id, user.id)
    with session_scope() as session:
        progress_service.get_or_start(session, enrolment_id, activity_id)


# --- the real demo content ----------------------------------------------------------------------


def test_slugs_are_the_course_folders() -> None:
    assert content_import.slugs() == ["keamanan-informasi-dasar", "literasi-digital-asn"]
    assert content_import.slugs(CONTENT_ROOT / "tools") == []


def test_demo_courses_import_with_their_sections_activities_and_open_run(
    settings: Settings,
) -> None:
    with session_scope() as session:
        reports = import_all(session, settings, CONTENT_ROOT)
    assert {r.code: r.created for r in reports} == {"KAMINFO-DASAR": True, "LITDIG-ASN": True}
    for report in reports:
        assert report.published and report.runs_created == 1
        # Each course's durations add up to its JP (no mismatch note); its .gift files are
        # quizzes now, not skipped.
        assert not [n for n in report.notes if "durasi" in n], report.notes
        assert not [n for n in report.notes if ".gift" in n], report.notes

    with session_scope() as session:
        for code, sections in EXPECTED.items():
            course = repository.get_course_by_code(session, code)
            assert course is not None
            assert course.status == "published" and course.category == "teknis"
            assert course.description_md and course.summary
            got = [(title, [a.kind for a in acts]) for title, acts in outline(session, code)]
            assert got == sections
            runs = repository.runs_of(session, [course.id])
            assert len(runs) == 1
            assert service.enrolment_window_open(runs[0], service.today()) is None
            assert runs[0].starts_on == service.today()
            assert runs[0].ends_on == service.today() + dt.timedelta(days=180)
            assert runs[0].created_by_id is None
        litdig = repository.get_course_by_code(session, "LITDIG-ASN")
        keamanan = repository.get_course_by_code(session, "KAMINFO-DASAR")
        assert litdig is not None and keamanan is not None
        assert (litdig.jp, keamanan.jp) == (10, 8)
        assert [c.competency_code for c in litdig.competencies] == ["literasi_digital", "spbe"]
        first_page = outline(session, "LITDIG-ASN")[0][1][1]  # after the pre-test
        assert first_page.title == "Mengapa ASN Perlu Literasi Digital"
        assert first_page.file_name == "01-mengapa-literasi-digital.md"
        assert first_page.body_md and first_page.body_md.startswith("## Pekerjaan yang")
        link = outline(session, "KAMINFO-DASAR")[2][1][3]
        assert link.url == "https://bssn.go.id/"


def test_demo_scorm_packages_pass_the_real_checks_and_unpack(settings: Settings) -> None:
    with session_scope() as session:
        import_all(session, settings, CONTENT_ROOT)
    storage = get_storage(settings)
    with session_scope() as session:
        scorm_activities = session.scalars(select(Activity).where(Activity.kind == "scorm")).all()
        assert {a.title for a in scorm_activities} == {
            "Latihan Interaktif: Cek Fakta",
            "Latihan Interaktif: Kenali Phishing",
        }
        for activity in scorm_activities:
            assert activity.completion_rule == "scorm_completed"
            package = session.get(ScormPackage, activity.scorm_package_id)
            assert package is not None
            assert (package.version, package.launch_href, package.mastery_score) == (
                "1.2",
                "index.html",
                80.0,
            )
            files = session.scalars(
                select(ScormFile).where(ScormFile.package_id == package.id)
            ).all()
            paths = {f.path: f for f in files}
            assert set(paths) == {
                "imsmanifest.xml", "index.html", "halaman-1.html", "halaman-2.html",
                "halaman-3.html", "halaman-4.html", "sco.js", "gaya.css",
            }  # fmt: skip
            assert paths["index.html"].content_type == "text/html"
            assert paths["sco.js"].content_type == "text/javascript"
            assert all(storage.exists(f.storage_key) for f in files)
            launched = b"".join(storage.open_range(paths["index.html"].storage_key))
            assert b"data-sco-shell" in launched


def test_scorm_folders_zip_reproducibly_and_pass_inspection(settings: Settings) -> None:
    for folder in (
        LITERASI / "03-praktik/02-latihan-cek-fakta.scorm",
        KEAMANAN / "02-ancaman-sehari-hari/03-latihan-kenali-phishing.scorm",
    ):
        first = content_import.zip_folder(folder, max_bytes=settings.max_scorm_bytes)
        assert first == content_import.zip_folder(folder, max_bytes=settings.max_scorm_bytes)
        info = inspect_package(io.BytesIO(first), settings)
        assert info.launch_href == "index.html" and info.file_count == 8
        # The manifest lists every file of the package.
        listed = {f for resource in info.resources for f in resource.files}
        assert listed == {path for path, _size in info.entries} - {"imsmanifest.xml"}


def test_demo_pdf_video_and_file_pass_the_content_type_checks(settings: Settings) -> None:
    with session_scope() as session:
        import_all(session, settings, CONTENT_ROOT)
    with session_scope() as session:
        rows = session.execute(
            select(Activity.kind, Activity.file_name, ContentFile.content_type, ContentFile.size)
            .join(ContentFile, ContentFile.id == Activity.file_id)
            .order_by(Activity.file_name)
        ).all()
    kinds = {(kind, name): (ctype, size) for kind, name, ctype, size in rows}
    assert {k: v[0] for k, v in kinds.items()} == {
        ("video", "02-video-empat-pilar.mp4"): "video/mp4",
        ("video", "02-video-kata-sandi.mp4"): "video/mp4",
        ("document", "05-lembar-ringkas-empat-pilar.pdf"): "application/pdf",
        ("document", "03-panduan-saku-keamanan-informasi.pdf"): "application/pdf",
        ("file", "03-templat-rtl.txt"): "text/plain; charset=utf-8",
    }
    for (kind, _name), (_ctype, size) in kinds.items():
        assert size < 2_000_000 if kind == "video" else size < 200_000


def test_content_folder_stays_lean() -> None:
    sizes = {p: p.stat().st_size for p in CONTENT_ROOT.rglob("*") if p.is_file()}
    assert sum(sizes.values()) < 3 * 1024**2
    assert all(size < 2_000_000 for p, size in sizes.items() if p.suffix == ".mp4")


def test_both_packages_share_the_same_runtime() -> None:
    """sco.js and gaya.css are one runtime copied into each package; they must not drift."""
    a = LITERASI / "03-praktik/02-latihan-cek-fakta.scorm"
    b = KEAMANAN / "02-ancaman-sehari-hari/03-latihan-kenali-phishing.scorm"
    for name in ("sco.js", "gaya.css"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


# --- idempotency and updates in place -----------------------------------------------------------


def test_importing_twice_changes_nothing(settings: Settings) -> None:
    with session_scope() as session:
        import_all(session, settings, CONTENT_ROOT)
    with session_scope() as session:
        before = snapshot(session)
    with session_scope() as session:
        reports = import_all(session, settings, CONTENT_ROOT)
    assert [(r.changed, r.created, r.changes) for r in reports] == [(False, False, [])] * 2
    assert [str(r) for r in reports] == [
        "KAMINFO-DASAR (keamanan-informasi-dasar): tidak berubah",
        "LITDIG-ASN (literasi-digital-asn): tidak berubah",
    ]
    with session_scope() as session:
        assert snapshot(session) == before
    assert before["files"] == 5 and before["packages"] == 2 and len(before["runs"]) == 2


def test_edited_page_and_course_fields_update_in_place(settings: Settings, tmp_path: Path) -> None:
    folder = copy_course(tmp_path)
    import_folder(settings, folder)
    with session_scope() as session:
        before = snapshot(session)
    page = folder / "02-empat-pilar/02-etika-digital.md"
    page.write_text(
        page.read_text(encoding="utf-8")
        .replace('title: "Pilar 2: Etika Digital"', 'title: "Pilar 2: Etika di Ruang Digital"')
        .replace("duration_minutes: 50", "duration_minutes: 55")
        + "\n## Tambahan\n\nParagraf baru.\n",
        encoding="utf-8",
    )
    course_yaml = folder / "course.yaml"
    course_yaml.write_text(
        course_yaml.read_text(encoding="utf-8").replace("jp: 10", "jp: 11"), encoding="utf-8"
    )

    report = import_folder(settings, folder)

    assert (report.created, report.activities_updated, report.activities_created) == (False, 1, 0)
    assert report.course_updated == ["jp"]
    with session_scope() as session:
        after = snapshot(session)
        activity = next(
            a
            for _title, acts in outline(session, "LITDIG-ASN")
            for a in acts
            if a.file_name == "02-etika-digital.md"
        )
        assert activity.title == "Pilar 2: Etika di Ruang Digital"
        assert activity.duration_minutes == 55
        assert activity.body_md and activity.body_md.endswith("Paragraf baru.\n")
    assert [row[0] for row in after["activities"]] == [row[0] for row in before["activities"]]
    assert [row[0] for row in after["sections"]] == [row[0] for row in before["sections"]]
    assert after["courses"][0][3] == 11
    assert after["files"] == before["files"]


def test_changed_binary_replaces_the_file_of_the_same_activity(
    settings: Settings, tmp_path: Path
) -> None:
    folder = copy_course(tmp_path)
    import_folder(settings, folder)
    rtl = folder / "03-praktik/03-templat-rtl.txt"
    with session_scope() as session:
        activity_id, old_file = session.execute(
            select(Activity.id, Activity.file_id).where(Activity.file_name == rtl.name)
        ).one()
    rtl.write_text(rtl.read_text(encoding="utf-8") + "\n6. Catatan tambahan\n", encoding="utf-8")
    report = import_folder(settings, folder)
    assert report.activities_updated == 1
    with session_scope() as session:
        activity = session.get(Activity, activity_id)
        assert activity is not None and activity.file_id != old_file
        assert count(session, ContentFile) == 4  # the old bytes stay stored (other users)


def test_renamed_or_moved_files_keep_their_activity(settings: Settings, tmp_path: Path) -> None:
    folder = copy_course(tmp_path)
    import_folder(settings, folder)
    with session_scope() as session:
        ids = {a.file_name: a.id for _title, acts in outline(session, "LITDIG-ASN") for a in acts}
    # Renamed (same title, same kind) and moved to another section (same file name).
    (folder / "02-empat-pilar/04-budaya-digital.md").rename(
        folder / "02-empat-pilar/04-pilar-budaya-digital.md"
    )
    (folder / "02-empat-pilar/01-cakap-digital.md").rename(
        folder / "01-pengantar/01-cakap-digital.md"
    )
    report = import_folder(settings, folder)
    assert (report.activities_created, report.activities_deleted) == (0, 0)
    with session_scope() as session:
        sections = outline(session, "LITDIG-ASN")
        by_name = {a.file_name: (title, a.id) for title, acts in sections for a in acts}
    assert by_name["04-pilar-budaya-digital.md"][1] == ids["04-budaya-digital.md"]
    assert by_name["01-cakap-digital.md"] == (
        "Pengantar: ASN di Era Digital",
        ids["01-cakap-digital.md"],
    )


def test_removed_activity_is_hidden_when_a_learner_has_progress_else_deleted(
    settings: Settings, tmp_path: Path
) -> None:
    folder = copy_course(tmp_path)
    import_folder(settings, folder)
    with session_scope() as session:
        acts = {a.file_name: a.id for _t, items in outline(session, "LITDIG-ASN") for a in items}
    learner_progress("LITDIG-ASN", acts["02-etika-digital.md"])
    (folder / "02-empat-pilar/02-etika-digital.md").unlink()
    (folder / "02-empat-pilar/03-aman-digital.md").unlink()

    report = import_folder(settings, folder)

    assert (report.activities_hidden, report.activities_deleted) == (1, 1)
    with session_scope() as session:
        kept = session.get(Activity, acts["02-etika-digital.md"])
        assert kept is not None and kept.hidden
        assert session.get(Activity, acts["03-aman-digital.md"]) is None
        # The hidden one goes after the activities still in the folder.
        section = outline(session, "LITDIG-ASN")[1][1]
        assert [a.file_name for a in section][-1] == "02-etika-digital.md"
    # Stable from then on; and putting the file back shows the same activity again.
    assert not import_folder(settings, folder).changed
    shutil.copy(LITERASI / "02-empat-pilar/02-etika-digital.md", folder / "02-empat-pilar")
    import_folder(settings, folder)
    with session_scope() as session:
        again = session.get(Activity, acts["02-etika-digital.md"])
        assert again is not None and not again.hidden and again.position == 2


def test_removed_section_folder_is_removed(settings: Settings, tmp_path: Path) -> None:
    folder = copy_course(tmp_path)
    import_folder(settings, folder)
    shutil.rmtree(folder / "03-praktik")
    report = import_folder(settings, folder)
    assert (report.sections_removed, report.activities_deleted) == (1, 5)  # 5 with the quiz
    with session_scope() as session:
        assert [t for t, _ in outline(session, "LITDIG-ASN")] == [
            "Pengantar: ASN di Era Digital",
            "Empat Pilar Literasi Digital",
        ]


def test_renamed_section_title_keeps_the_section(settings: Settings, tmp_path: Path) -> None:
    folder = copy_course(tmp_path)
    import_folder(settings, folder)
    with session_scope() as session:
        section_ids = [s.id for s in session.scalars(select(Section).order_by(Section.position))]
    (folder / "02-empat-pilar/section.yaml").write_text("title: Empat Pilar\n", encoding="utf-8")
    report = import_folder(settings, folder)
    assert (report.sections_updated, report.sections_created) == (1, 0)
    with session_scope() as session:
        sections = session.scalars(select(Section).order_by(Section.position)).all()
        assert [s.id for s in sections] == section_ids
        assert sections[1].title == "Empat Pilar"


def test_reordered_section_folders_reorder_the_same_sections(
    settings: Settings, tmp_path: Path
) -> None:
    folder = copy_course(tmp_path)
    import_folder(settings, folder)
    with session_scope() as session:
        before = [
            (s.id, s.title) for s in session.scalars(select(Section).order_by(Section.position))
        ]
    (folder / "01-pengantar").rename(folder / "02-pengantar")
    (folder / "02-empat-pilar").rename(folder / "01-empat-pilar")
    report = import_folder(settings, folder)
    assert report.changed and (report.sections_created, report.activities_created) == (0, 0)
    with session_scope() as session:
        after = [
            (s.id, s.title) for s in session.scalars(select(Section).order_by(Section.position))
        ]
    assert after == [before[1], before[0], before[2]]


def test_runs_with_relative_dates_are_created_once(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_course(tmp_path)
    import_folder(settings, folder)
    later = service.today() + dt.timedelta(days=10)
    monkeypatch.setattr(service, "today", lambda: later)
    assert import_folder(settings, folder).runs_created == 0
    with session_scope() as session:
        runs = session.scalars(select(Run)).all()
        assert [(r.starts_on, r.ends_on) for r in runs] == [
            (later - dt.timedelta(days=10), later + dt.timedelta(days=170))
        ]


def test_draft_status_never_unpublishes(settings: Settings, tmp_path: Path) -> None:
    folder = copy_course(tmp_path)
    import_folder(settings, folder)
    course_yaml = folder / "course.yaml"
    course_yaml.write_text(
        course_yaml.read_text(encoding="utf-8").replace("status: published", "status: draft"),
        encoding="utf-8",
    )
    report = import_folder(settings, folder)
    assert not report.changed
    assert any("status 'draft' tidak diterapkan" in note for note in report.notes)


# --- refusals -----------------------------------------------------------------------------------


def write_course(folder: Path, course_yaml: str, pages: dict[str, str] | None = None) -> Path:
    (folder / "01-bagian").mkdir(parents=True)
    (folder / "course.yaml").write_text(course_yaml, encoding="utf-8")
    (folder / "01-bagian/section.yaml").write_text("title: Bagian Satu\n", encoding="utf-8")
    for name, text in (pages or {"01-halaman.md": "---\ntitle: Halaman\n---\nIsi.\n"}).items():
        (folder / "01-bagian" / name).write_text(text, encoding="utf-8")
    return folder


GOOD_YAML = "code: UJI-1\ntitle: Kursus Uji\njp: 2\ncategory: teknis\n"


def assert_nothing_written() -> None:
    with session_scope() as session:
        assert [count(session, m) for m in (Course, Section, Activity, ContentFile, Run)] == [0] * 5
        assert count(session, ScormPackage) == 0


@pytest.mark.parametrize(
    ("course_yaml", "field", "words"),
    [
        ("code: UJI-1\ntitle: Kursus Uji\ncategory: teknis\n", "jp", "wajib diisi"),
        (
            "code: UJI-1\ntitle: Kursus Uji\njp: 2\ncategory: teknik\n",
            "category",
            "harus salah satu dari 'manajerial', 'sosial_kultural' atau 'teknis'",
        ),
        (GOOD_YAML + "durasi: 3\n", "durasi", "kolom tidak dikenal"),
        (GOOD_YAML + "status: terbit\n", "status", "harus salah satu dari"),
        (
            GOOD_YAML + "runs:\n  - name: A\n    starts_on: '+5d'\n    ends_on: '+1d'\n"
            "    funding_source: apbn\n",
            "runs.0",
            "ends_on: tanggal selesai tidak boleh sebelum tanggal mulai",
        ),
        (
            GOOD_YAML + "runs:\n  - name: A\n    starts_on: besok\n    ends_on: '+1d'\n"
            "    funding_source: apbn\n",
            "runs.0.starts_on",
            "harus tanggal YYYY-MM-DD atau relatif",
        ),
        ("code: [UJI\n", None, "YAML tidak sah"),
    ],
)
def test_broken_course_yaml_names_file_and_field_and_writes_nothing(
    settings: Settings, tmp_path: Path, course_yaml: str, field: str | None, words: str
) -> None:
    folder = write_course(tmp_path / "rusak", course_yaml)
    with pytest.raises(ValidationFailed) as caught, session_scope() as session:
        import_course(session, settings, folder)
    message = caught.value.detail
    assert message.startswith("rusak/course.yaml: ")
    assert words in message
    if field is not None:
        assert f": {field}: " in message
        assert caught.value.field == field
    assert_nothing_written()


@pytest.mark.parametrize(
    ("pages", "file", "words"),
    [
        ({"01-a.md": "---\ntitle: A\ndurasi: 5\n---\nIsi\n"}, "01-a.md", "durasi: kolom tidak dikenal"),
        ({"01-a.md": "---\ntitle: A\n---\n\n"}, "01-a.md", "body: halaman memerlukan isi"),
        ({"01-a.md": "---\ntitle: A\nIsi\n"}, "01-a.md", "front matter tidak ditutup"),
        ({"01-a.md": "---\nduration_minutes: -1\n---\nIsi\n"}, "01-a.md", "duration_minutes: paling kecil 0"),
        ({"01-a.link.yaml": "title: A\nurl: ftp://x\n"}, "01-a.link.yaml", "url: formatnya tidak sah"),
        ({"01-a.link.yaml": "url: https://x.go.id\n"}, "01-a.link.yaml", "title: wajib diisi"),
        ({"01-a.meta.yaml": "title: A\n"}, "01-a.meta.yaml", "tidak ada berkas '01-a.*'"),
        ({"01-a.yaml": "title: A\n"}, "01-a.yaml", "berkas YAML tidak dikenal"),
        ({"01-a.md": "---\ncompletion_rule: scorm_passed\n---\nIsi\n"}, "01-a.md", "completion_rule: untuk page"),
        ({"01-video.mp4": "bukan video"}, "01-video.mp4", "padahal aktivitas video memerlukan"),
        ({"01-dok.pdf": "<html><script>x</script>"}, "01-dok.pdf", "terdeteksi sebagai HTML"),
    ],
)  # fmt: skip
def test_broken_activity_files_name_file_and_field(
    settings: Settings, tmp_path: Path, pages: dict[str, str], file: str, words: str
) -> None:
    good = {"00-ok.md": "---\ntitle: Halaman\n---\nIsi.\n", "00-ok.txt": "catatan\n"}
    folder = write_course(tmp_path / "kursus", GOOD_YAML, good | pages)
    with pytest.raises(LMSError) as caught, session_scope() as session:
        import_course(session, settings, folder)
    assert caught.value.detail.startswith(f"kursus/01-bagian/{file}: "), caught.value.detail
    assert words in caught.value.detail
    assert_nothing_written()


def test_missing_section_yaml_is_named(settings: Settings, tmp_path: Path) -> None:
    folder = write_course(tmp_path / "kursus", GOOD_YAML)
    (folder / "01-bagian/section.yaml").unlink()
    with pytest.raises(ValidationFailed, match=r"^kursus/01-bagian/section.yaml: "):
        content_import.read_course(folder, settings)


def test_duplicate_course_codes_are_refused_before_anything_is_written(
    settings: Settings, tmp_path: Path
) -> None:
    write_course(tmp_path / "a", GOOD_YAML)
    write_course(tmp_path / "b", GOOD_YAML.replace("UJI-1", "uji-1"))
    with (
        pytest.raises(ValidationFailed, match=r"b/course.yaml: code: kode UJI-1 sudah dipakai"),
        session_scope() as session,
    ):
        import_all(session, settings, tmp_path)
    assert_nothing_written()


def test_late_error_leaves_no_stored_file_behind(settings: Settings, tmp_path: Path) -> None:
    """A bad file in the last section is found before the first section's bytes are stored."""
    folder = copy_course(tmp_path)
    (folder / "03-praktik/04-cek-fakta-turnbackhoax.link.yaml").write_text(
        "title: A\nurl: javascript:alert(1)\n", encoding="utf-8"
    )
    objects = Path(settings.storage_url.removeprefix("file://"))
    before = {p for p in objects.rglob("*") if p.is_file()} if objects.exists() else set()
    with pytest.raises(ValidationFailed, match=r"04-cek-fakta-turnbackhoax\.link\.yaml: url"):
        import_folder(settings, folder)
    after = {p for p in objects.rglob("*") if p.is_file()} if objects.exists() else set()
    assert after == before
    assert_nothing_written()


def scorm_course(tmp_path: Path, build: Any) -> Path:
    folder = write_course(tmp_path / "kursus", GOOD_YAML)
    build(folder / "01-bagian")
    return folder


def _no_manifest(section: Path) -> None:
    package = section / "02-paket.scorm"
    package.mkdir()
    (package / "index.html").write_text("<html><body>Halo</body></html>", encoding="utf-8")


def _backslash_name(section: Path) -> None:
    shutil.copytree(LITERASI / "03-praktik/02-latihan-cek-fakta.scorm", section / "02-paket.scorm")
    (section / "02-paket.scorm" / "halaman\\..\\..\\evil.html").write_text("x", encoding="utf-8")


def _symlink_out(section: Path) -> None:
    shutil.copytree(LITERASI / "03-praktik/02-latihan-cek-fakta.scorm", section / "02-paket.scorm")
    os.symlink("/etc/passwd", section / "02-paket.scorm" / "passwd")


def _zip_slip(section: Path) -> None:
    manifest = (LITERASI / "03-praktik/02-latihan-cek-fakta.scorm/imsmanifest.xml").read_bytes()
    with zipfile.ZipFile(section / "02-paket.zip", "w") as archive:
        archive.writestr("imsmanifest.xml", manifest)
        archive.writestr("index.html", "<html></html>")
        archive.writestr("../../evil.html", "x")


@pytest.mark.parametrize(
    ("build", "name", "code", "words"),
    [
        (_no_manifest, "02-paket.scorm", "scorm_no_manifest", "tidak memiliki imsmanifest.xml"),
        (_backslash_name, "02-paket.scorm", "scorm_backslash_path", "garis miring terbalik"),
        (_symlink_out, "02-paket.scorm", "scorm_symlink", "tautan simbolik (symlink)"),
        (_zip_slip, "02-paket.zip", "scorm_zip_slip", "zip-slip"),
    ],
)
def test_unsafe_or_broken_scorm_is_refused_with_the_checkers_message(
    settings: Settings, tmp_path: Path, build: Any, name: str, code: str, words: str
) -> None:
    folder = scorm_course(tmp_path, build)
    with pytest.raises(ValidationFailed) as caught, session_scope() as session:
        import_course(session, settings, folder)
    assert caught.value.code == code
    assert caught.value.detail.startswith(f"kursus/01-bagian/{name}: ")
    assert words in caught.value.detail
    assert_nothing_written()


def test_symlinks_outside_scorm_folders_are_refused(settings: Settings, tmp_path: Path) -> None:
    folder = write_course(tmp_path / "kursus", GOOD_YAML)
    os.symlink("/etc/hostname", folder / "01-bagian/02-host.txt")
    with pytest.raises(ValidationFailed, match=r"^kursus/01-bagian/02-host.txt: tautan simbolik"):
        content_import.read_course(folder, settings)


def test_minimal_folder_defaults(settings: Settings, tmp_path: Path) -> None:
    """Titles fall back to the first heading or the file name; meta files describe binaries."""
    folder = write_course(
        tmp_path / "kursus",
        GOOD_YAML,
        {
            "01-tanpa-front-matter.md": "# Judul dari Heading\n\nIsi halaman.\n",
            "02-catatan_rapat.txt": "catatan\n",
            "03-catatan-lain.txt": "lain\n",
            "03-catatan-lain.meta.yaml": "title: Catatan Lain\nrequired: false\nhidden: true\n",
            "04-kuis.gift": "::Q1:: 1+1? {=2}\n",
        },
    )
    (folder / "catatan.txt").write_text("bukan bagian", encoding="utf-8")
    plan = content_import.read_course(folder, settings)
    items = plan.sections[0].activities
    assert [(a.kind.value, a.title, a.required, a.hidden) for a in items] == [
        ("page", "Judul dari Heading", True, False),
        ("file", "Catatan rapat", True, False),
        ("file", "Catatan Lain", False, True),
        ("quiz", "Kuis", True, False),
    ]
    assert items[0].body == "Isi halaman.\n"
    assert plan.spec.status == "draft"
    assert any(n.startswith("kursus/catatan.txt: dilewati") for n in plan.notes)
    assert items[3].quiz is not None and items[3].quiz.kind == "exercise"
    assert [q.text for q in items[3].questions] == ["1+1?"]
    with session_scope() as session:
        report = import_course(session, settings, folder)
        course = session.get(Course, report.course_id)
        assert course is not None and course.status == "draft"
        hidden = session.scalars(select(Activity).where(Activity.hidden.is_(True))).all()
        assert [a.title for a in hidden] == ["Catatan Lain"]


# --- quizzes (.gift) ----------------------------------------------------------------------------


def quiz_of(session: Session, code: str, file_name: str) -> tuple[Activity, Quiz]:
    activity = next(
        a for _t, acts in outline(session, code) for a in acts if a.file_name == file_name
    )
    quiz = session.scalar(select(Quiz).where(Quiz.activity_id == activity.id))
    assert quiz is not None
    return activity, quiz


def enrolled_learner(course_code: str) -> Principal:
    """A learner enrolled in the course's run, as the API would see them."""
    user = make_user(roles=("learner",))
    with session_scope() as session:
        course = repository.get_course_by_code(session, course_code)
        assert course is not None
        run_id = repository.runs_of(session, [course.id])[0].id
    enrol(run_id, user.id)
    return Principal(user_id=user.id, name=user.name, roles=frozenset({"learner"}), via="token")


def question_types(session: Session, quiz: Quiz) -> list[str]:
    return [s.question.type.value for _, s in quiz_service.quiz_questions(session, quiz)]


def test_demo_quizzes_import_with_their_settings_and_questions(settings: Settings) -> None:
    with session_scope() as session:
        import_all(session, settings, CONTENT_ROOT)
    with session_scope() as session:
        pre_activity, pre = quiz_of(session, "LITDIG-ASN", "00-tes-awal.gift")
        assert pre_activity.position == 1  # the first activity of the course
        assert (pre_activity.title, pre_activity.kind) == ("Tes Awal (Pre-test)", "quiz")
        assert pre_activity.completion_rule == "quiz_attempted" and pre_activity.required
        assert (pre.kind, pre.pass_score, pre.grading, pre.max_attempts) == (
            "pretest", 0, "first", 1,
        )  # fmt: skip
        assert pre.time_limit_seconds == 600 and pre.review_answers == "never"
        assert pre.intro_md and "pengetahuan awal" in pre.intro_md
        assert len(question_types(session, pre)) == 5

        post_activity, post = quiz_of(session, "LITDIG-ASN", "05-kuis-akhir.gift")
        assert post_activity.title == "Tes Akhir (Post-test)"
        assert post_activity.completion_rule == "quiz_passed"
        assert (post.kind, post.pass_score, post.time_limit_seconds, post.max_attempts) == (
            "posttest", 70, 900, 3,
        )  # fmt: skip
        assert (post.grading, post.shuffle_questions, post.shuffle_choices) == (
            "highest", True, True,
        )  # fmt: skip
        assert {post.review_answers, post.review_feedback, post.review_correctness} == {
            "after_submit"
        }
        assert question_types(session, post) == [
            "single", "truefalse", "single", "short", "single",
            "single", "multiple", "numeric", "matching", "truefalse",
        ]  # fmt: skip
        read = quiz_service.quiz_read(session, post)
        assert read.question_count == 10 and read.total_points == 10

        _activity, keamanan = quiz_of(session, "KAMINFO-DASAR", "05-kuis-akhir.gift")
        assert (keamanan.kind, keamanan.pass_score, keamanan.max_attempts) == ("posttest", 70, 3)
        assert len(question_types(session, keamanan)) == 5
        # Questions go to the course's bank under the file's $CATEGORY.
        names = {s.question.category for _, s in quiz_service.quiz_questions(session, post)}
        assert names == {"$course$/Literasi Digital untuk ASN/Kuis akhir"}


def test_demo_posttest_can_be_taken_and_reviewed(settings: Settings) -> None:
    """The imported post-test works end to end: a learner passes it and sees a full review."""
    with session_scope() as session:
        import_all(session, settings, CONTENT_ROOT)
        quiz_id = quiz_of(session, "KAMINFO-DASAR", "05-kuis-akhir.gift")[1].id
    principal = enrolled_learner("KAMINFO-DASAR")
    with session_scope() as session:
        quiz = quiz_service.get_quiz(session, quiz_id)
        attempt, created = quiz_service.start_attempt(session, quiz, principal, settings=settings)
        assert created and attempt.deadline is not None
        key = {"KI01": "kerahasiaan", "KI03": "cek-data.com"}
        answers = []
        for item, stored in quiz_service._attempt_questions(session, attempt):
            q = stored.question
            if q.type.value == "truefalse":
                answers.append({"question_id": item["q"], "choice_ids": ["false"]})
            else:
                wanted = key.get(q.title[:4], "memutuskan laptop")
                index = next(i for i, c in enumerate(q.choices) if c.text.startswith(wanted))
                answers.append({"question_id": item["q"], "choice_ids": [stored.choice_ids[index]]})
        quiz_service.save_answers(
            session, attempt, AnswersIn.model_validate({"answers": answers}), settings
        )
        result = quiz_service.submit(session, attempt, settings)
        assert (result.state, result.score, result.max_score, result.passed) == (
            "graded", 5, 5, True,
        )  # fmt: skip
        review = quiz_service.review(session, attempt, principal)
        assert review.shows == {
            "correctness": True, "points": True, "feedback": True, "answers": True,
        }  # fmt: skip
        assert all(item.right_answer for item in review.items)


GOOD_GIFT = "::Q1:: Situs pemerintah memakai domain go.id. {TRUE}\n\n::Q2:: 2+2? {#4}\n"
QUIZ_META = (
    "title: Kuis Bagian\nkind: exercise\npass_score: 50\nmax_attempts: 2\n"
    "time_limit_seconds: 300\nreview_answers: after_submit\nduration_minutes: 10\n"
)


def assert_no_quiz_written() -> None:
    with session_scope() as session:
        assert [count(session, m) for m in (Quiz, QuizSlot, BankQuestion)] == [0, 0, 0]


def test_gift_with_meta_imports_as_a_quiz_in_section_order(
    settings: Settings, tmp_path: Path
) -> None:
    folder = write_course(
        tmp_path / "kursus",
        GOOD_YAML,
        {
            "01-halaman.md": "---\ntitle: Halaman\n---\nIsi.\n",
            "02-kuis.gift": GOOD_GIFT,
            "02-kuis.meta.yaml": QUIZ_META,
            "03-penutup.md": "---\ntitle: Penutup\n---\nIsi.\n",
        },
    )
    report = import_folder(settings, folder)
    assert "aktivitas baru: kursus/01-bagian/02-kuis.gift (kuis, 2 soal)" in report.changes
    with session_scope() as session:
        ((_title, acts),) = outline(session, "UJI-1")
        assert [(a.kind, a.title) for a in acts] == [
            ("page", "Halaman"), ("quiz", "Kuis Bagian"), ("page", "Penutup"),
        ]  # fmt: skip
        quiz = session.scalar(select(Quiz))
        assert quiz is not None and quiz.activity_id == acts[1].id
        read = quiz_service.quiz_read(session, quiz)
        assert (read.kind, read.pass_score, read.max_attempts, read.time_limit_seconds) == (
            "exercise", 50, 2, 300,
        )  # fmt: skip
        assert (read.review_answers, read.duration_minutes, read.question_count) == (
            "after_submit", 10, 2,
        )  # fmt: skip
        assert acts[1].file_name == "02-kuis.gift" and acts[1].duration_minutes == 10
        assert question_types(session, quiz) == ["truefalse", "numeric"]
    # Without a meta file: an exercise titled from the file name, no limits.
    (folder / "01-bagian/02-kuis.meta.yaml").unlink()
    report = import_folder(settings, folder)
    with session_scope() as session:
        quiz = session.scalar(select(Quiz))
        assert quiz is not None
        read = quiz_service.quiz_read(session, quiz)
        assert (read.title, read.kind, read.max_attempts, read.pass_score) == (
            "Kuis", "exercise", None, 0,
        )  # fmt: skip
        assert read.question_count == 2  # the questions did not change


@pytest.mark.parametrize(
    ("gift", "words"),
    [
        (
            "::Q1:: Benar? {TRUE}\n\n::Q2:: Rusak {=a ~b\n\n::Q3:: Ok {=x ~y}\n",
            "kursus/01-bagian/02-kuis.gift: Baris 3: '{' tidak ditutup dengan '}'",
        ),
        (
            "::Q1:: Benar? {TRUE}\n\n\n::Q2:: Angka {#abc}\n",
            "kursus/01-bagian/02-kuis.gift: Baris 4: 'abc' bukan angka.",
        ),
        (
            "// hanya komentar\n",
            "kursus/01-bagian/02-kuis.gift: Baris 1: berkas tidak berisi soal.",
        ),
    ],
)
def test_broken_gift_reports_its_line_and_imports_nothing(
    settings: Settings, tmp_path: Path, gift: str, words: str
) -> None:
    folder = write_course(
        tmp_path / "kursus",
        GOOD_YAML,
        {"01-halaman.md": "---\ntitle: Halaman\n---\nIsi.\n", "02-kuis.gift": gift},
    )
    with pytest.raises(ValidationFailed) as caught, session_scope() as session:
        import_course(session, settings, folder)
    assert caught.value.detail.startswith(words), caught.value.detail
    assert caught.value.code == "content_invalid"
    assert caught.value.errors[0]["file"] == "kursus/01-bagian/02-kuis.gift"
    assert caught.value.errors[0]["line"] == int(words.split("Baris ")[1].split(":")[0])
    assert_nothing_written()
    assert_no_quiz_written()


def test_broken_gift_in_a_later_course_writes_nothing_at_all(
    settings: Settings, tmp_path: Path
) -> None:
    """`import_all` checks every folder first: a GIFT error in the second course leaves the
    first (good) course unwritten too."""
    write_course(tmp_path / "a", GOOD_YAML, {"01-kuis.gift": GOOD_GIFT})
    write_course(
        tmp_path / "b", GOOD_YAML.replace("UJI-1", "UJI-2"), {"01-kuis.gift": "::Q:: x {=a ~b\n"}
    )
    with (
        pytest.raises(ValidationFailed, match=r"^b/01-bagian/01-kuis.gift: Baris 1: "),
        session_scope() as session,
    ):
        import_all(session, settings, tmp_path)
    assert_nothing_written()
    assert_no_quiz_written()


@pytest.mark.parametrize(
    ("meta", "file", "words"),
    [
        ("pass_score: 120\n", "02-kuis.meta.yaml", "pass_score: paling besar 100"),
        ("nilai_lulus: 70\n", "02-kuis.meta.yaml", "nilai_lulus: kolom tidak dikenal"),
        ("kind: ujian\n", "02-kuis.meta.yaml", "kind: harus salah satu dari"),
        ("time_limit_seconds: 10\n", "02-kuis.meta.yaml", "time_limit_seconds: paling kecil 30"),
        ("review_answers: selalu\n", "02-kuis.meta.yaml", "review_answers: harus salah satu"),
        ("completion_rule: viewed\n", "02-kuis.gift", "completion_rule: untuk quiz pilih"),
        ("close_at: 2030-01-01\n", "02-kuis.meta.yaml", "close_at: kolom tidak dikenal"),
    ],
)
def test_broken_quiz_meta_names_file_and_field(
    settings: Settings, tmp_path: Path, meta: str, file: str, words: str
) -> None:
    folder = write_course(
        tmp_path / "kursus",
        GOOD_YAML,
        {"02-kuis.gift": GOOD_GIFT, "02-kuis.meta.yaml": meta},
    )
    with pytest.raises(ValidationFailed) as caught, session_scope() as session:
        import_course(session, settings, folder)
    assert caught.value.detail.startswith(f"kursus/01-bagian/{file}: "), caught.value.detail
    assert words in caught.value.detail
    assert_nothing_written()


def test_edited_gift_and_meta_update_the_same_quiz(settings: Settings, tmp_path: Path) -> None:
    """Settings are updated in place; unchanged questions keep their bank question, an edited
    one is replaced, removed ones leave the quiz, new ones join it, in the file's order; finished
    attempts keep what they were graded on."""
    folder = copy_course(tmp_path)
    gift_path = folder / "03-praktik/05-kuis-akhir.gift"
    meta_path = folder / "03-praktik/05-kuis-akhir.meta.yaml"
    import_folder(settings, folder)
    closes = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=30)
    with session_scope() as session:
        activity, quiz = quiz_of(session, "LITDIG-ASN", "05-kuis-akhir.gift")
        ids = (activity.id, quiz.id)
        before = [s.question_id for s in quiz_service.repository.slots_of(session, quiz.id)]
        quiz.close_at = closes  # set in the studio: the folder has no say in it
    # A learner finishes an attempt first.
    principal = enrolled_learner("LITDIG-ASN")
    with session_scope() as session:
        attempt, _ = quiz_service.start_attempt(
            session, quiz_service.get_quiz(session, ids[1]), principal, settings=settings
        )
        quiz_service.submit(session, attempt, settings)
        attempt_id = attempt.id

    text = gift_path.read_text(encoding="utf-8")
    blocks = text.split("\n\n")
    header, questions = blocks[0], blocks[1:]
    assert len(questions) == 10
    edited = questions[3].replace("{=go.id =.go.id}", "{=go.id}")  # LD04: a key changed
    new = "::LD11 Baru:: Surel dinas dipakai untuk urusan dinas. {TRUE}"
    # LD10 removed, LD11 added first, LD04 edited; the rest unchanged.
    reordered = [new, *questions[:3], edited, *questions[4:9]]
    gift_path.write_text("\n\n".join([header, *reordered]).rstrip("\n") + "\n", encoding="utf-8")
    meta_path.write_text(
        meta_path.read_text(encoding="utf-8").replace("pass_score: 70", "pass_score: 80"),
        encoding="utf-8",
    )
    report = import_folder(settings, folder)
    change = next(c for c in report.changes if "05-kuis-akhir.gift" in c)
    assert change == (
        "aktivitas diperbarui: literasi-digital-asn/03-praktik/05-kuis-akhir.gift "
        "(pass_score, soal +2/-2)"
    )
    assert any("05-kuis-akhir.gift: soal kuis berubah" in n for n in report.notes)
    with session_scope() as session:
        activity, quiz = quiz_of(session, "LITDIG-ASN", "05-kuis-akhir.gift")
        assert (activity.id, quiz.id, quiz.pass_score) == (*ids, 80)
        assert quiz.close_at == closes
        after = [s.question_id for s in quiz_service.repository.slots_of(session, quiz.id)]
        titles = [s.question.title for _, s in quiz_service.quiz_questions(session, quiz)]
        assert titles == [
            "LD11 Baru", "LD01 Pilar", "LD02 Kode OTP", "LD03 Malinformasi", "LD04 Domain",
            "LD05 SPBE", "LD06 Gangguan informasi", "LD07 Data pribadi", "LD08 Perpres SPBE",
            "LD09 Empat pilar",
        ]  # fmt: skip
        unchanged = [0, 1, 2, 4, 5, 6, 7, 8]  # positions in the old file, one later now
        assert [after[i + 1] for i in unchanged] == [before[i] for i in unchanged]
        assert after[4] not in before and after[0] not in before
        # The finished attempt still reviews with the questions it showed.
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None and attempt.state == "graded"
        review = quiz_service.review(session, attempt, principal)
        assert len(review.items) == 10
    again = import_folder(settings, folder)
    assert not again.changed, again.changes


def test_removed_gift_deletes_the_quiz_or_hides_it_with_progress(
    settings: Settings, tmp_path: Path
) -> None:
    folder = copy_course(tmp_path)
    import_folder(settings, folder)
    with session_scope() as session:
        pre_activity, _pre = quiz_of(session, "LITDIG-ASN", "00-tes-awal.gift")
        pre_id = pre_activity.id
    learner_progress("LITDIG-ASN", pre_id)
    (folder / "01-pengantar/00-tes-awal.gift").unlink()
    (folder / "01-pengantar/00-tes-awal.meta.yaml").unlink()
    (folder / "03-praktik/05-kuis-akhir.gift").unlink()
    (folder / "03-praktik/05-kuis-akhir.meta.yaml").unlink()
    report = import_folder(settings, folder)
    assert (report.activities_deleted, report.activities_hidden) == (1, 1)
    with session_scope() as session:
        quizzes = session.scalars(select(Quiz)).all()
        assert [q.activity_id for q in quizzes] == [pre_id]  # hidden, kept with its quiz
        hidden = session.get(Activity, pre_id)
        assert hidden is not None and hidden.hidden


# --- the SCORM runtime in a browser -------------------------------------------------------------


@pytest.fixture
def scorm_site(tmp_path: Path) -> Iterator[str]:
    """The demo package and the app's scorm-again build served from 127.0.0.1, with a page that
    holds window.API (like templates/courses/_scorm_player.html) and frames the package."""
    shutil.copytree(LITERASI / "03-praktik/02-latihan-cek-fakta.scorm", tmp_path / "pkg")
    shutil.copy(ROOT / "static/vendor/scorm-again-scorm12.min.js", tmp_path)
    (tmp_path / "lms.html").write_text(
        """<!doctype html><html><head><script src="scorm-again-scorm12.min.js"></script><script>
        window.API = new Scorm12API({autocommit: false, logLevel: 5, lmsCommitUrl: false});
        var cmi = new URLSearchParams(location.search).get("cmi");
        window.API.loadFromJSON(cmi ? JSON.parse(cmi) : {});
        window.CALLS = [];
        ["LMSInitialize", "LMSCommit", "LMSFinish"].forEach(function (name) {
          window.API.on(name, function () { window.CALLS.push(name); });
        });
        </script></head><body><iframe id="sco" src="pkg/index.html" width="800" height="600">
        </iframe></body></html>""",
        encoding="utf-8",
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.func.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/lms.html"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
def test_demo_scorm_package_bookmarks_suspends_resumes_and_passes(scorm_site: str) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(scorm_site)
            sco = page.frame_locator("#sco")
            where = sco.locator("[data-where]")
            assert where.inner_text().startswith("Halaman 1 dari 4")
            for _ in range(3):
                sco.locator("[data-next]").click()
            lesson = sco.frame_locator("iframe")
            lesson.locator('input[name="q1"][value="b"]').check()
            lesson.locator('input[name="q2"][value="a"]').check()
            page.evaluate("document.getElementById('sco').src = 'about:blank'")  # leave mid-way
            page.wait_for_function("window.CALLS.indexOf('LMSFinish') >= 0")
            cmi = page.evaluate("window.API.renderCMIToJSONObject().cmi")
            core = cmi["core"]
            assert (core["lesson_location"], core["lesson_status"], core["exit"]) == (
                "halaman-4.html",
                "incomplete",
                "suspend",
            )
            assert json.loads(cmi["suspend_data"])["answers"] == {"q1": "b", "q2": "a"}
            assert core["session_time"].count(":") == 2
            calls = page.evaluate("window.CALLS")
            assert calls[0] == "LMSInitialize" and calls[-1] == "LMSFinish"

            # Relaunch as the LMS would (initial_cmi): entry resume, bookmark, suspend_data.
            resume = {
                "core": {
                    "student_id": "1", "student_name": "Dewi", "lesson_location": "halaman-4.html",
                    "credit": "credit", "lesson_status": "incomplete", "entry": "resume",
                    "total_time": "00:01:00", "lesson_mode": "normal",
                },
                "suspend_data": cmi["suspend_data"],
                "student_data": {"mastery_score": "80"},
            }  # fmt: skip
            page.goto(f"{scorm_site}?cmi={urllib.parse.quote(json.dumps(resume))}")
            assert where.inner_text().startswith("Halaman 4 dari 4")
            lesson = sco.frame_locator("iframe")
            assert lesson.locator('input[name="q1"][value="b"]').is_checked()
            for name, value in (("q2", "c"), ("q3", "b"), ("q4", "c"), ("q5", "b")):
                lesson.locator(f'input[name="{name}"][value="{value}"]').check()
            lesson.locator("button[type=submit]").click()
            assert "Nilai Anda 100" in lesson.locator("[data-nilai]").inner_text()
            page.evaluate("document.getElementById('sco').src = 'about:blank'")
            page.wait_for_function("window.CALLS.indexOf('LMSFinish') >= 0")
            core = page.evaluate("window.API.renderCMIToJSONObject().cmi.core")
            assert (core["lesson_status"], core["score"]["raw"], core["exit"]) == (
                "passed",
                "100",
                "",
            )
        finally:
            browser.close()


def test_certification_block_sets_the_course_rules(settings: Settings, tmp_path: Path) -> None:
    """The demo course asks for the survey and RTL; fields it leaves out keep the settings."""
    from app.certificates import service as certificates_service

    import_folder(settings, LITERASI)
    with session_scope() as session:
        course = repository.get_course_by_code(session, "LITDIG-ASN")
        assert course is not None
        rules = certificates_service.rules_for(session, course.id, settings)
    assert (rules.require_survey, rules.require_rtl, rules.pass_score) == (True, True, 70)
    assert rules.validity_years == settings.cert_validity_years
    assert not import_folder(settings, LITERASI).changed


def test_certification_block_refuses_unknown_fields(settings: Settings, tmp_path: Path) -> None:
    folder = copy_course(tmp_path)
    course_yaml = folder / "course.yaml"
    course_yaml.write_text(
        course_yaml.read_text(encoding="utf-8").replace("require_rtl: true", "require_rtll: true"),
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed, match=r"course.yaml: certification.require_rtll"):
        import_folder(settings, folder)
