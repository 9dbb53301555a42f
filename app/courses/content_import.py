"""Course as code: reads a course folder (course.yaml, section folders, activity files; format in
content/README.md) and creates or updates that course in place, keyed by its code.

Two phases: `read_course` checks the whole folder without touching the database or the storage
(YAML fields, front matter, file types by content, SCORM packages through `scorm.inspect_package`);
only then `import_course` writes, through the courses service, `uploads` and `content.import_scorm`
(and, for `.gift` question files, the quizzes service: `create_quiz` and `import_questions`).
Matching rules (documented in content/README.md): a section by title, else by the files it
holds, else by position; an activity by its source file name (kept in `Activity.file_name`),
else by kind and title.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import logging
import os
import re
import stat
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal, TypeVar, cast

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.certificates import service as certificates_service
from app.certificates.schemas import RulesUpdate
from app.core.config import Settings
from app.core.errors import Conflict, LMSError, PayloadTooLarge, ValidationFailed
from app.courses import content, filetypes, repository, scorm, service, uploads
from app.courses.constants import (
    DEFAULT_RULE,
    ActivityKind,
    CompletionRule,
    CourseStatus,
)
from app.courses.filetypes import HEAD_BYTES, UploadKind
from app.courses.models import Activity, Course, Section
from app.courses.schemas import CourseCreate, CourseUpdate, RunCreate
from app.quizzes import repository as quiz_repository
from app.quizzes import service as quiz_service
from app.quizzes.models import Quiz, QuizSlot
from app.quizzes.questions import Question
from app.quizzes.schemas import Grading, QuizKind, QuizSettings, ReviewWhen
from app.storage.service import get_storage

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

CONTENT_ROOT = Path(__file__).resolve().parents[2] / "content"
COURSE_FILE = "course.yaml"
SECTION_FILE = "section.yaml"
META_SUFFIX = ".meta.yaml"
LINK_SUFFIX = ".link.yaml"
SCORM_FOLDER_SUFFIX = ".scorm"
# A GIFT question file is a quiz activity; its settings come from `<name>.meta.yaml`.
QUIZ_SUFFIXES = (".gift",)
PAGE_SUFFIXES = (".md",)
DOCUMENT_SUFFIXES = (".pdf",)
VIDEO_SUFFIXES = (".mp4", ".webm")
SCORM_ZIP_SUFFIXES = (".zip",)
SECTION_FOLDER = re.compile(r"^\d+-")
# Zip entries made from a folder get a fixed date and mode, so the same folder always zips to the
# same bytes (same sha256), which is what lets a second import see "unchanged".
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_FRONT_MATTER_FENCE = "---"
_HASH_CHUNK = 1024 * 1024


# --- the folder format --------------------------------------------------------------------------


def _relative_date(value: object) -> object:
    """A date as YYYY-MM-DD, or relative to the import day: "+30d", "-7d", "+2w", "today"."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("today", "+0d", "-0d", "0d"):
            return service.today()
        match = re.fullmatch(r"([+-])\s*(\d{1,5})\s*([dw])", text)
        if match:
            days = int(match.group(2)) * (7 if match.group(3) == "w" else 1)
            return service.today() + dt.timedelta(days=days if match.group(1) == "+" else -days)
    return value


RelativeDate = Annotated[dt.date, BeforeValidator(_relative_date)]


class RunSpec(RunCreate):
    """One `runs:` entry of course.yaml: an angkatan, created once and matched by name."""

    model_config = ConfigDict(extra="forbid")

    starts_on: RelativeDate
    ends_on: RelativeDate
    enrol_opens_on: RelativeDate | None = None
    enrol_closes_on: RelativeDate | None = None


class CertificationSpec(RulesUpdate):
    """course.yaml `certification:`: the certification-rules API fields, typos refused."""

    model_config = ConfigDict(extra="forbid")


class CourseSpec(CourseCreate):
    """course.yaml: the course fields of the API (same limits) plus status and runs."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["draft", "published"] = "draft"
    runs: list[RunSpec] = Field(default_factory=list, max_length=50)
    # The course's certification rules (the API's fields); left out: the institution's settings.
    certification: CertificationSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _competency_entries(cls, data: Any) -> Any:
        """`competencies` entries may be a code or `{code, target_level}`."""
        if not isinstance(data, dict) or not isinstance(data.get("competencies"), list):
            return data
        codes: list[Any] = []
        levels: dict[str, Any] = dict(data.get("competency_levels") or {})
        for entry in data["competencies"]:
            if isinstance(entry, dict):
                unknown = set(entry) - {"code", "target_level"}
                if unknown or "code" not in entry:
                    raise ValueError("competencies: each entry is a code or {code, target_level}")
                codes.append(entry["code"])
                if entry.get("target_level") is not None:
                    levels[str(entry["code"])] = entry["target_level"]
            else:
                codes.append(entry)
        return {**data, "competencies": codes, "competency_levels": levels}


class SectionSpec(BaseModel):
    """section.yaml."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=255)


class ActivitySpec(BaseModel):
    """A page's front matter or a binary's `<name>.meta.yaml`."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=255)
    duration_minutes: int = Field(default=0, ge=0, le=10_000)
    required: bool = True
    locked_until_previous: bool = False
    completion_rule: CompletionRule | None = None
    hidden: bool = False


class QuizSpec(ActivitySpec):
    """A `.gift` file's `<name>.meta.yaml`: the activity fields plus the quiz settings of the
    quizzes API (same limits). Open/close times are not set here (they belong to a run's
    schedule); set them in the studio if needed."""

    kind: QuizKind = "exercise"
    pass_score: float = Field(default=0, ge=0, le=100)
    time_limit_seconds: int | None = Field(default=None, ge=30, le=24 * 3600)
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    attempt_delay_seconds: int = Field(default=0, ge=0, le=30 * 24 * 3600)
    grading: Grading = "highest"
    shuffle_questions: bool = False
    shuffle_choices: bool = True
    questions_per_attempt: int | None = Field(default=None, ge=1, le=500)
    sequential: bool = False
    review_correctness: ReviewWhen = "after_submit"
    review_points: ReviewWhen = "after_submit"
    review_feedback: ReviewWhen = "after_submit"
    review_answers: ReviewWhen = "after_close"
    intro: str | None = Field(default=None, max_length=20_000)


class LinkSpec(ActivitySpec):
    """A `*.link.yaml` file (the same rule for URLs as the studio's form)."""

    title: str = Field(min_length=1, max_length=255)
    url: str = Field(max_length=2048, pattern=r"^https?://\S+$")


_RULES_FOR_KIND: dict[ActivityKind, tuple[CompletionRule, ...]] = {
    ActivityKind.VIDEO: (CompletionRule.WATCHED, CompletionRule.VIEWED),
    ActivityKind.DOCUMENT: (CompletionRule.VIEWED,),
    ActivityKind.PAGE: (CompletionRule.VIEWED,),
    ActivityKind.FILE: (CompletionRule.VIEWED,),
    ActivityKind.LINK: (CompletionRule.VIEWED,),
    ActivityKind.SCORM: (CompletionRule.SCORM_COMPLETED, CompletionRule.SCORM_PASSED),
    ActivityKind.QUIZ: (CompletionRule.QUIZ_PASSED, CompletionRule.QUIZ_ATTEMPTED),
}


# --- what reading a folder gives ----------------------------------------------------------------


@dataclass(slots=True)
class PlannedActivity:
    """One activity file, checked; `source` (its name in the section folder) is its key."""

    source: str
    rel: str  # path shown in messages, relative to the content root
    kind: ActivityKind
    title: str
    duration_minutes: int
    required: bool
    locked_until_previous: bool
    completion_rule: CompletionRule
    hidden: bool
    body: str | None = None
    url: str | None = None
    path: Path | None = None  # the bytes of a video/document/file or a SCORM .zip
    sha256: str | None = None  # of those bytes, or of the zip made from a *.scorm folder
    scorm_zip: bytes | None = None  # a *.scorm folder, zipped in memory
    quiz: QuizSettings | None = None  # a .gift file: the quiz's settings
    gift: bytes | None = None  # ... its bytes (imported with `quiz_service.import_questions`)
    questions: list[Question] = field(default_factory=list)  # ... and its questions, parsed


@dataclass(slots=True)
class PlannedSection:
    folder: str
    title: str
    activities: list[PlannedActivity]


@dataclass(slots=True)
class CoursePlan:
    """A course folder read and checked completely; nothing written yet."""

    folder: Path
    slug: str
    spec: CourseSpec
    sections: list[PlannedSection]
    notes: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.spec.code.strip().upper()


@dataclass(slots=True)
class ImportReport:
    """What one import did; `changed` is False when the database already matched the folder."""

    slug: str
    code: str
    course_id: int
    created: bool = False
    course_updated: list[str] = field(default_factory=list)
    sections_created: int = 0
    sections_updated: int = 0
    sections_removed: int = 0
    activities_created: int = 0
    activities_updated: int = 0
    activities_deleted: int = 0
    activities_hidden: int = 0
    runs_created: int = 0
    published: bool = False
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def __str__(self) -> str:
        return self.summary()

    def summary(self) -> str:
        """One line for the CLI."""
        if not self.changed:
            return f"{self.code} ({self.slug}): tidak berubah"
        verb = "dibuat" if self.created else "diperbarui"
        counts = [
            f"bagian +{self.sections_created}/~{self.sections_updated}/-{self.sections_removed}",
            f"aktivitas +{self.activities_created}/~{self.activities_updated}"
            f"/-{self.activities_deleted}/tersembunyi {self.activities_hidden}",
            f"angkatan +{self.runs_created}",
        ]
        return f"{self.code} ({self.slug}): {verb}; " + ", ".join(counts)


# --- errors that name the file and the field ----------------------------------------------------

_MESSAGES = {
    "missing": "wajib diisi",
    "extra_forbidden": "kolom tidak dikenal (periksa ejaannya)",
    "enum": "harus salah satu dari {expected}",
    "literal_error": "harus salah satu dari {expected}",
    "int_parsing": "harus bilangan bulat",
    "int_type": "harus bilangan bulat",
    "int_from_float": "harus bilangan bulat",
    "bool_parsing": "harus true atau false",
    "bool_type": "harus true atau false",
    "greater_than_equal": "paling kecil {ge}",
    "less_than_equal": "paling besar {le}",
    "string_too_short": "tidak boleh kosong",
    "string_too_long": "paling panjang {max_length} karakter",
    "string_type": "harus teks",
    "too_long": "paling banyak {max_length} isian",
    "list_type": "harus daftar (list)",
    "date_parsing": "harus tanggal YYYY-MM-DD atau relatif seperti +30d",
    "date_from_datetime_parsing": "harus tanggal YYYY-MM-DD atau relatif seperti +30d",
    "date_type": "harus tanggal YYYY-MM-DD atau relatif seperti +30d",
    "string_pattern_mismatch": "formatnya tidak sah",
}


def _error_text(error: Any) -> str:
    template = _MESSAGES.get(error["type"])
    if template is None:
        return str(error["msg"]).removeprefix("Value error, ")
    context = {
        key: str(value).replace(" or ", " atau ") for key, value in error.get("ctx", {}).items()
    }
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return str(error["msg"])


def _invalid(rel: str, field_name: str | None, message: str) -> ValidationFailed:
    where = f"{rel}: {field_name}" if field_name else rel
    return ValidationFailed(
        f"{where}: {message}",
        field=field_name,
        errors=[{"field": field_name, "file": rel, "message": message}],
        code="content_invalid",
    )


def _from_pydantic(rel: str, exc: PydanticValidationError) -> ValidationFailed:
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or None
        problems.append({"field": location, "file": rel, "message": _error_text(error)})
    detail = "; ".join(
        f"{p['field']}: {p['message']}" if p["field"] else str(p["message"]) for p in problems
    )
    return ValidationFailed(
        f"{rel}: {detail}",
        field=problems[0]["field"] if problems else None,
        errors=problems,
        code="content_invalid",
    )


def _located(exc: LMSError, rel: str) -> LMSError:
    """The same domain error (class and code kept), its message prefixed with the file."""
    exc.detail = f"{rel}: {exc.detail}"
    exc.args = (exc.detail,)
    if isinstance(exc, ValidationFailed):
        exc.errors = [{**e, "file": rel} for e in exc.errors] or [
            {"field": exc.field, "file": rel, "message": exc.detail}
        ]
    return exc


def _validate(model: type[M], data: dict[str, Any], rel: str) -> M:
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise _from_pydantic(rel, exc) from None


def _load_yaml(path: Path, rel: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise _invalid(rel, None, "bukan teks UTF-8") from None
    except yaml.YAMLError as exc:
        raise _invalid(rel, None, f"YAML tidak sah ({' '.join(str(exc).split())})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise _invalid(rel, None, "isi YAML harus berupa pasangan kunci: nilai")
    return cast(dict[str, Any], loaded)


# --- discovery ----------------------------------------------------------------------------------


def course_folders(root: Path = CONTENT_ROOT) -> list[Path]:
    """The course folders under `root`: direct subfolders holding a course.yaml, by name."""
    if not root.is_dir():
        return []
    return sorted(
        child
        for child in root.iterdir()
        if child.is_dir()
        and not child.is_symlink()
        and not child.name.startswith((".", "_"))
        and (child / COURSE_FILE).is_file()
    )


def slugs(root: Path = CONTENT_ROOT) -> list[str]:
    """The course folder names under `root` (what `lms content import` would import)."""
    return [folder.name for folder in course_folders(root)]


# --- phase 1: read and check a folder -----------------------------------------------------------


def read_course(folder: Path, settings: Settings) -> CoursePlan:
    """Check a whole course folder without writing anything; raises a domain error naming the
    file (relative to the content root) and the field."""
    folder = folder.resolve()
    slug = folder.name
    if not (folder / COURSE_FILE).is_file():
        raise _invalid(slug, None, f"tidak ada {COURSE_FILE}; ini bukan folder kursus")
    course_rel = f"{slug}/{COURSE_FILE}"
    spec = _validate(CourseSpec, _load_yaml(folder / COURSE_FILE, course_rel), course_rel)
    notes: list[str] = []
    sections: list[PlannedSection] = []
    for child in sorted(folder.iterdir(), key=lambda p: p.name):
        rel = f"{slug}/{child.name}"
        if child.name.startswith(".") or child.name == COURSE_FILE:
            continue
        if child.is_symlink():
            raise _invalid(rel, None, "tautan simbolik (symlink) tidak diizinkan di folder kursus")
        if child.is_dir() and SECTION_FOLDER.match(child.name):
            sections.append(_read_section(child, rel, settings, notes))
        else:
            notes.append(f"{rel}: dilewati (bukan folder bagian 'NN-nama/')")
    if not sections:
        raise _invalid(slug, None, "kursus belum punya folder bagian (mis. 01-pengantar/)")
    return CoursePlan(folder=folder, slug=slug, spec=spec, sections=sections, notes=notes)


def _read_section(folder: Path, rel: str, settings: Settings, notes: list[str]) -> PlannedSection:
    section_rel = f"{rel}/{SECTION_FILE}"
    if not (folder / SECTION_FILE).is_file():
        raise _invalid(section_rel, None, "berkas wajib ini tidak ada")
    spec = _validate(SectionSpec, _load_yaml(folder / SECTION_FILE, section_rel), section_rel)
    entries = sorted(
        (child for child in folder.iterdir() if not child.name.startswith(".")),
        key=lambda p: p.name,
    )
    metas: dict[str, Path] = {}
    sources: list[Path] = []
    for child in entries:
        child_rel = f"{rel}/{child.name}"
        if child.name == SECTION_FILE:
            continue
        if child.is_symlink():
            raise _invalid(child_rel, None, "tautan simbolik (symlink) tidak diizinkan")
        if child.is_dir():
            if not child.name.endswith(SCORM_FOLDER_SUFFIX):
                raise _invalid(
                    child_rel, None, "folder tidak dikenal; paket SCORM berupa folder '*.scorm/'"
                )
            sources.append(child)
        elif child.name.endswith(META_SUFFIX):
            metas[child.name.removesuffix(META_SUFFIX)] = child
        elif child.name.endswith((".yaml", ".yml")) and not child.name.endswith(LINK_SUFFIX):
            raise _invalid(
                child_rel,
                None,
                f"berkas YAML tidak dikenal; gunakan '*{LINK_SUFFIX}' untuk tautan atau "
                f"'<nama>{META_SUFFIX}' untuk keterangan berkas",
            )
        else:
            sources.append(child)
    stems: dict[str, list[Path]] = {}
    for source in sources:
        stems.setdefault(_stem(source), []).append(source)
    meta_for: dict[str, Path] = {}
    for stem, meta in metas.items():
        meta_rel = f"{rel}/{meta.name}"
        targets = stems.get(stem, [])
        if not targets:
            raise _invalid(meta_rel, None, f"tidak ada berkas '{stem}.*' yang diterangkannya")
        if len(targets) > 1:
            names = ", ".join(t.name for t in targets)
            raise _invalid(
                meta_rel, None, f"nama '{stem}' dipakai lebih dari satu berkas ({names})"
            )
        target = targets[0]
        if target.name.endswith((*PAGE_SUFFIXES, LINK_SUFFIX)):
            raise _invalid(
                meta_rel, None, f"{target.name} memakai keterangan di dalam berkasnya sendiri"
            )
        meta_for[target.name] = meta
    activities = [
        _read_activity(source, f"{rel}/{source.name}", meta_for.get(source.name), rel, settings)
        for source in sources
    ]
    title = " ".join(spec.title.split())
    return PlannedSection(folder=folder.name, title=title, activities=activities)


def _stem(path: Path) -> str:
    name = path.name
    if name.endswith(LINK_SUFFIX):
        return name.removesuffix(LINK_SUFFIX)
    return name.rsplit(".", 1)[0] if "." in name else name


def _kind_of(path: Path) -> ActivityKind:
    name = path.name.lower()
    if path.is_dir() or name.endswith(SCORM_ZIP_SUFFIXES):
        return ActivityKind.SCORM
    if name.endswith(LINK_SUFFIX):
        return ActivityKind.LINK
    if name.endswith(QUIZ_SUFFIXES):
        return ActivityKind.QUIZ
    if name.endswith(PAGE_SUFFIXES):
        return ActivityKind.PAGE
    if name.endswith(DOCUMENT_SUFFIXES):
        return ActivityKind.DOCUMENT
    if name.endswith(VIDEO_SUFFIXES):
        return ActivityKind.VIDEO
    return ActivityKind.FILE


def _title_from_name(path: Path) -> str:
    """ "02-video-pengantar.mp4" -> "Video pengantar"."""
    words = re.sub(r"^\d+[-_ ]*", "", _stem(path)).replace("-", " ").replace("_", " ").strip()
    return (words[:1].upper() + words[1:]) if words else path.name


def _read_activity(
    path: Path, rel: str, meta: Path | None, section_rel: str, settings: Settings
) -> PlannedActivity:
    kind = _kind_of(path)
    body: str | None = None
    url: str | None = None
    spec: ActivitySpec
    if kind == ActivityKind.PAGE:
        front, body = _read_page(path, rel)
        spec = _validate(ActivitySpec, front, rel)
        if spec.title is None:
            title, body = _heading_title(body)
            spec.title = title
        if not body.strip():
            raise _invalid(rel, "body", "halaman memerlukan isi (markdown) setelah front matter")
    elif kind == ActivityKind.LINK:
        link = _validate(LinkSpec, _load_yaml(path, rel), rel)
        spec, url = link, link.url
    elif meta is not None:
        meta_rel = f"{section_rel}/{meta.name}"
        model = QuizSpec if kind == ActivityKind.QUIZ else ActivitySpec
        spec = _validate(model, _load_yaml(meta, meta_rel), meta_rel)
    else:
        spec = QuizSpec() if kind == ActivityKind.QUIZ else ActivitySpec()
    rule = spec.completion_rule or DEFAULT_RULE[kind]
    if rule not in _RULES_FOR_KIND[kind]:
        allowed = ", ".join(r.value for r in _RULES_FOR_KIND[kind])
        raise _invalid(rel, "completion_rule", f"untuk {kind.value} pilih salah satu: {allowed}")
    planned = PlannedActivity(
        source=path.name,
        rel=rel,
        kind=kind,
        title=" ".join((spec.title or "").split()),
        duration_minutes=spec.duration_minutes,
        required=spec.required,
        locked_until_previous=spec.locked_until_previous,
        completion_rule=rule,
        hidden=spec.hidden,
        body=body,
        url=url.strip() if url else None,
    )
    if kind == ActivityKind.SCORM:
        _read_scorm(planned, path, rel, settings)
    elif kind in content.FILE_KINDS:
        _read_file(planned, path, rel, settings)
    if not planned.title:
        planned.title = _title_from_name(path)
    if kind == ActivityKind.QUIZ:
        assert isinstance(spec, QuizSpec)
        _read_quiz(planned, path, rel, spec, meta, section_rel)
    return planned


# --- quizzes (.gift) ----------------------------------------------------------------------------

# The quiz settings an import compares and sets (the activity's own fields are compared above).
_QUIZ_FIELDS = tuple(
    name for name in QuizSpec.model_fields if name not in ActivitySpec.model_fields
)
_GIFT_ERRORS_SHOWN = 10


def _read_quiz(
    planned: PlannedActivity,
    path: Path,
    rel: str,
    spec: QuizSpec,
    meta: Path | None,
    section_rel: str,
) -> None:
    """Parse the GIFT file with the quizzes importer (nothing is written): every error is
    reported with its line; the settings are checked as the quizzes API checks them."""
    data = path.read_bytes()
    if len(data) > quiz_service.MAX_IMPORT_BYTES:
        raise _invalid(rel, None, "berkas soal terlalu besar (maks. 5 MB)")
    result = quiz_service.parse_file("gift", data)
    errors = [(e.line, e.message) for e in result.errors]
    if not errors and not result.questions:
        errors.append((1, "Baris 1: berkas tidak berisi soal."))
    if errors:
        raise _gift_error(rel, errors)
    meta_rel = f"{section_rel}/{meta.name}" if meta is not None else rel
    values = {name: getattr(spec, name) for name in _QUIZ_FIELDS}
    values |= {
        "title": planned.title,
        "duration_minutes": planned.duration_minutes,
        "required": planned.required,
    }
    planned.quiz = _validate(QuizSettings, values, meta_rel)
    planned.gift = data
    planned.questions = list(result.questions)


def _gift_error(rel: str, errors: Sequence[tuple[int, str]]) -> ValidationFailed:
    """All GIFT errors of a file, each with its line ("Baris N: ..."), in one domain error."""
    shown = "; ".join(message for _, message in errors[:_GIFT_ERRORS_SHOWN])
    more = len(errors) - _GIFT_ERRORS_SHOWN
    if more > 0:
        shown += f"; dan {more} kesalahan lain"
    return ValidationFailed(
        f"{rel}: {shown}",
        field=None,
        errors=[{"field": None, "file": rel, "line": line, "message": m} for line, m in errors],
        code="content_invalid",
    )


def _read_page(path: Path, rel: str) -> tuple[dict[str, Any], str]:
    """(front matter, markdown body) of a page; front matter is optional YAML between '---'."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise _invalid(rel, None, "bukan teks UTF-8") from None
    lines = text.splitlines()
    if not lines or lines[0].strip() != _FRONT_MATTER_FENCE:
        return {}, text.strip() + "\n"
    for index in range(1, len(lines)):
        if lines[index].strip() in (_FRONT_MATTER_FENCE, "..."):
            raw = "\n".join(lines[1:index])
            body = "\n".join(lines[index + 1 :]).strip()
            break
    else:
        raise _invalid(rel, None, "front matter tidak ditutup dengan baris '---'")
    try:
        front = yaml.safe_load(raw) if raw.strip() else {}
    except yaml.YAMLError as exc:
        message = f"front matter bukan YAML yang sah ({' '.join(str(exc).split())})"
        raise _invalid(rel, None, message) from None
    if not isinstance(front, dict):
        raise _invalid(rel, None, "front matter harus berupa pasangan kunci: nilai")
    return cast(dict[str, Any], front), body + "\n" if body else ""


def _heading_title(body: str) -> tuple[str | None, str]:
    """Without a front-matter title, a leading "# Heading" is the title (and leaves the body,
    since the activity page already shows the title as its heading)."""
    lines = body.splitlines()
    if lines and lines[0].startswith("# "):
        return lines[0][2:].strip() or None, "\n".join(lines[1:]).strip() + "\n"
    return None, body


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read_file(planned: PlannedActivity, path: Path, rel: str, settings: Settings) -> None:
    """The same checks as an upload (type by content, size cap), before anything is stored."""
    upload_kind = UploadKind(planned.kind.value)
    try:
        uploads.check_declared_size(upload_kind, path.stat().st_size, settings)
        with path.open("rb") as handle:
            filetypes.check_kind(upload_kind, handle.read(HEAD_BYTES))
    except LMSError as exc:
        raise _located(exc, rel) from None
    planned.path = path
    planned.sha256 = _sha256_of(path)


def _read_scorm(planned: PlannedActivity, path: Path, rel: str, settings: Settings) -> None:
    """A `.zip` or a `*.scorm/` folder (zipped in memory) through the upload's SCORM checks."""
    try:
        if path.is_dir():
            planned.scorm_zip = zip_folder(path, max_bytes=settings.max_scorm_bytes)
            info = scorm.inspect_package(io.BytesIO(planned.scorm_zip), settings)
        else:
            planned.path = path
            with path.open("rb") as handle:
                info = scorm.inspect_package(handle, settings)
    except LMSError as exc:
        raise _located(exc, rel) from None
    planned.sha256 = info.sha256
    if not planned.title:
        planned.title = " ".join(info.title.split())[:255]


def zip_folder(folder: Path, *, max_bytes: int) -> bytes:
    """The folder as a zip, in memory and byte-for-byte reproducible (sorted names, fixed dates).

    Symbolic links become symlink entries, so the SCORM checker refuses them like in an upload;
    dot-files (.DS_Store, .git) are left out.
    """
    buffer = io.BytesIO()
    total = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _walk(folder):
            name = path.relative_to(folder).as_posix()
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.create_system = 3  # Unix, so external_attr carries the file mode
            if path.is_symlink():
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, os.readlink(path))
                continue
            total += path.stat().st_size
            if total > max_bytes:
                raise PayloadTooLarge(
                    f"Isi folder paket SCORM melebihi batas {max_bytes:,} byte.",
                    code="scorm_archive_too_large",
                    field="file",
                )
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _walk(folder: Path) -> Iterable[Path]:
    """Files and symlinks under `folder` in name order; never follows a link."""
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and not entry.is_symlink():
            yield from _walk(entry)
        else:
            yield entry


# --- phase 2: write -----------------------------------------------------------------------------

# Imports are made by no user: created_by stays NULL, as for the test factories' courses. The
# services only read `user_id` (and `or None`) from the principal they are given.
_IMPORTER = Principal(
    user_id=cast(int, None), name="content import", roles=frozenset({"admin"}), via="cli"
)


def import_course(
    session: Session, settings: Settings, folder: Path, *, principal: Principal | None = None
) -> ImportReport:
    """Create or update the course in `folder` (keyed by its code); running it twice changes
    nothing. Raises a domain error naming the file and field; the caller rolls back."""
    plan = read_course(folder, settings)
    return apply_plan(session, settings, plan, principal=principal)


def import_all(
    session: Session,
    settings: Settings,
    root: Path = CONTENT_ROOT,
    *,
    principal: Principal | None = None,
) -> list[ImportReport]:
    """Every course folder under `root`; all are read and checked before any is written."""
    plans = [read_course(folder, settings) for folder in course_folders(root)]
    seen: dict[str, str] = {}
    for plan in plans:
        if plan.code in seen:
            raise _invalid(
                f"{plan.slug}/{COURSE_FILE}",
                "code",
                f"kode {plan.code} sudah dipakai oleh {seen[plan.code]}/{COURSE_FILE}",
            )
        seen[plan.code] = plan.slug
    return [apply_plan(session, settings, plan, principal=principal) for plan in plans]


def import_path(
    session: Session, settings: Settings, path: Path, *, principal: Principal | None = None
) -> list[ImportReport]:
    """For the CLI: `path` is one course folder (it has course.yaml) or a folder of them."""
    if (path / COURSE_FILE).is_file():
        return [import_course(session, settings, path, principal=principal)]
    if not course_folders(path):
        raise _invalid(str(path), None, f"tidak ada folder kursus (berisi {COURSE_FILE}) di sini")
    return import_all(session, settings, path, principal=principal)


def check_path(settings: Settings, path: Path) -> list[CoursePlan]:
    """Read and check without a database (for `lms content check` and content reviews in CI)."""
    if (path / COURSE_FILE).is_file():
        return [read_course(path, settings)]
    return [read_course(folder, settings) for folder in course_folders(path)]


def apply_plan(
    session: Session, settings: Settings, plan: CoursePlan, *, principal: Principal | None = None
) -> ImportReport:
    """Write a checked plan: course fields, sections, activities, then status and runs."""
    actor = principal or _IMPORTER
    course, report = _upsert_course(session, plan, actor)
    report.notes.extend(plan.notes)
    existing_sections = list(repository.sections_of(session, course.id))
    existing = {
        s.id: list(repository.activities_of_section(session, s.id)) for s in existing_sections
    }
    sections = _match_sections(plan.sections, existing_sections, existing)
    matches = _match_activities(plan.sections, sections, existing)
    claimed = {a.id for row in matches for a in row if a is not None}
    placed: list[tuple[Section, list[Activity]]] = []
    for index, (planned_section, section) in enumerate(zip(plan.sections, sections, strict=True)):
        if section is None:
            section = service.add_section(session, course, planned_section.title)
            section.position = index + 1
            report.sections_created += 1
            report.changes.append(f"bagian baru: {planned_section.title}")
        else:
            if section.title != planned_section.title:
                report.changes.append(f"judul bagian: {section.title} -> {planned_section.title}")
                section.title = planned_section.title
                report.sections_updated += 1
            if _set_if_changed(section, "position", index + 1):
                report.changes.append(f"urutan bagian: {planned_section.title} ke-{index + 1}")
        activities = [
            _upsert_activity(session, settings, section, planned, match, report, actor=actor)
            for planned, match in zip(planned_section.activities, matches[index], strict=True)
        ]
        placed.append((section, activities))
    _retire_leftovers(session, existing_sections, placed, existing, claimed, report)
    _apply_status(session, course, plan, report, settings)
    _create_runs(session, course, plan, actor, report)
    _apply_certification(session, settings, course, plan, report)
    session.flush()
    if report.changed:
        log.info("imported %s", report.summary())
    return report


def _set_if_changed(obj: object, name: str, value: object) -> bool:
    if getattr(obj, name) == value:
        return False
    setattr(obj, name, value)
    return True


def _upsert_course(
    session: Session, plan: CoursePlan, actor: Principal
) -> tuple[Course, ImportReport]:
    spec = plan.spec
    data = CourseCreate.model_validate(spec.model_dump(include=set(CourseCreate.model_fields)))
    course = repository.get_course_by_code(session, plan.code)
    if course is None:
        course = service.create_course(session, data, actor)
        report = ImportReport(plan.slug, course.code, course.id, created=True)
        report.changes.append(f"kursus baru: {course.code} {course.title}")
        return course, report
    report = ImportReport(plan.slug, course.code, course.id)
    wanted: dict[str, Any] = {
        "title": " ".join(data.title.split()),
        "summary": data.summary,
        "description": data.description,
        "jp": data.jp,
        "category": data.category.value,
        "learning_mode": data.learning_mode.value,
    }
    current: dict[str, Any] = {
        "title": course.title,
        "summary": course.summary,
        "description": course.description_md,
        "jp": course.jp,
        "category": course.category,
        "learning_mode": course.learning_mode,
    }
    changed = [name for name, value in wanted.items() if current[name] != value]
    tags = service.competency_tags(session, data.competencies, data.competency_levels)
    if {c.competency_code: c.target_level for c in course.competencies} != tags:
        changed.append("competencies")
    if not changed:
        return course, report
    update = CourseUpdate.model_validate(
        {name: wanted[name] for name in changed if name != "competencies"}
        | (
            {"competencies": list(tags), "competency_levels": tags}
            if "competencies" in changed
            else {}
        )
    )
    service.update_course(session, course, update)
    # update_course leaves a field alone when it is None; the folder may clear these two.
    if data.summary is None:
        course.summary = None
    if data.description is None:
        course.description_md = None
    report.course_updated = changed
    report.changes.append("kursus: " + ", ".join(changed))
    return course, report


def _match_sections(
    planned: Sequence[PlannedSection],
    existing: Sequence[Section],
    activities: dict[int, list[Activity]],
) -> list[Section | None]:
    """Rule: a section folder keeps the section with its title; else the one holding most of its
    files (the title was edited); else the one at the same position; else a new one."""
    result: list[Section | None] = [None] * len(planned)
    free = list(existing)

    def claim(index: int, section: Section | None) -> None:
        if section is not None:
            result[index] = section
            free.remove(section)

    for index, wanted in enumerate(planned):
        claim(index, next((s for s in free if s.title == wanted.title), None))
    for index, wanted in enumerate(planned):
        if result[index] is None:
            names = {a.source for a in wanted.activities}
            overlap = [
                (sum(a.file_name in names for a in activities.get(s.id, [])), -s.position, s)
                for s in free
            ]
            best = max(overlap, key=lambda t: (t[0], t[1]), default=None)
            claim(index, best[2] if best is not None and best[0] > 0 else None)
    for index in range(len(planned)):
        if result[index] is None and index < len(existing) and existing[index] in free:
            claim(index, existing[index])
    return result


def _match_activities(
    planned: Sequence[PlannedSection],
    sections: Sequence[Section | None],
    existing: dict[int, list[Activity]],
) -> list[list[Activity | None]]:
    """Rule, in three passes over the whole course so an earlier file cannot take a later file's
    activity: (1) same section, same source file name (kept in `Activity.file_name`); (2) the
    only activity anywhere in the course with that file name (the file moved section); (3) same
    section, same kind and title (the file was renamed). Anything else is a new activity."""
    result: list[list[Activity | None]] = [[None] * len(s.activities) for s in planned]
    claimed: set[int] = set()

    def free_in(index: int) -> list[Activity]:
        section = sections[index]
        return [a for a in (existing.get(section.id, []) if section else []) if a.id not in claimed]

    def each_unmatched() -> Iterable[tuple[int, int, PlannedActivity]]:
        for i, planned_section in enumerate(planned):
            for j, activity in enumerate(planned_section.activities):
                if result[i][j] is None:
                    yield i, j, activity

    def claim(i: int, j: int, activity: Activity | None) -> None:
        if activity is not None:
            result[i][j] = activity
            claimed.add(activity.id)

    for i, j, wanted in list(each_unmatched()):
        claim(i, j, next((a for a in free_in(i) if a.file_name == wanted.source), None))
    for i, j, wanted in list(each_unmatched()):
        anywhere = [
            a
            for activities in existing.values()
            for a in activities
            if a.id not in claimed and a.file_name == wanted.source
        ]
        claim(i, j, anywhere[0] if len(anywhere) == 1 else None)
    for i, j, wanted in list(each_unmatched()):
        claim(
            i,
            j,
            next(
                (a for a in free_in(i) if a.kind == wanted.kind.value and a.title == wanted.title),
                None,
            ),
        )
    return result


def _upsert_activity(
    session: Session,
    settings: Settings,
    section: Section,
    planned: PlannedActivity,
    activity: Activity | None,
    report: ImportReport,
    *,
    actor: Principal = _IMPORTER,
) -> Activity:
    if planned.kind == ActivityKind.QUIZ and activity is None:
        return _create_quiz(session, section, planned, report, actor)
    file_id = _stored_file_id(session, settings, planned, activity)
    package_id = _scorm_package_id(session, settings, planned, activity)
    if activity is None:
        activity = service.add_activity(
            session,
            section,
            service.ActivityInput(
                kind=planned.kind,
                title=planned.title,
                duration_minutes=planned.duration_minutes,
                required=planned.required,
                locked_until_previous=planned.locked_until_previous,
                completion_rule=planned.completion_rule,
                body=planned.body,
                url=planned.url,
                file_id=file_id,
                file_name=planned.source,
                scorm_package_id=package_id,
            ),
        )
        if planned.hidden:
            service.set_hidden(session, activity, True)
        report.activities_created += 1
        report.changes.append(f"aktivitas baru: {planned.rel}")
        return activity
    # No duration in the course's files: the media's own (video length, PDF pages, words).
    minutes, manual = service.initial_duration(
        session,
        kind=planned.kind.value,
        file_id=file_id,
        body=planned.body,
        typed=planned.duration_minutes,
    )
    wanted: dict[str, Any] = {
        "section_id": section.id,
        "title": planned.title,
        "duration_minutes": minutes,
        "duration_manual": manual,
        "required": planned.required,
        "locked_until_previous": planned.locked_until_previous,
        "completion_rule": planned.completion_rule.value,
        "hidden": planned.hidden,
        "body_md": planned.body,
        "url": planned.url,
        "file_id": file_id,
        "file_name": planned.source,
        "scorm_package_id": package_id,
    }
    changed = [name for name, value in wanted.items() if _set_if_changed(activity, name, value)]
    if planned.kind == ActivityKind.QUIZ:
        changed += _update_quiz(session, activity, planned, report, actor)
    if changed:
        session.flush()
        report.activities_updated += 1
        report.changes.append(f"aktivitas diperbarui: {planned.rel} ({', '.join(changed)})")
    return activity


def _create_quiz(
    session: Session,
    section: Section,
    planned: PlannedActivity,
    report: ImportReport,
    actor: Principal,
) -> Activity:
    """A new quiz activity with its settings and all of its questions (or none: the file was
    parsed without error in phase 1, and `import_questions` is all-or-nothing)."""
    assert planned.quiz is not None and planned.gift is not None
    quiz = quiz_service.create_quiz(session, section, planned.quiz)
    activity = quiz_service.quiz_activity(session, quiz)
    activity.file_name = planned.source
    activity.locked_until_previous = planned.locked_until_previous
    activity.completion_rule = planned.completion_rule.value
    activity.hidden = planned.hidden
    result = quiz_service.import_questions(session, quiz, "gift", planned.gift, actor)
    if result.errors:
        raise _gift_error(planned.rel, [(e.line, e.message) for e in result.errors])
    session.flush()
    report.activities_created += 1
    report.changes.append(f"aktivitas baru: {planned.rel} (kuis, {result.imported} soal)")
    return activity


def _update_quiz(
    session: Session,
    activity: Activity,
    planned: PlannedActivity,
    report: ImportReport,
    actor: Principal,
) -> list[str]:
    """Bring an imported quiz in line with its file: settings, then questions. Returns what
    changed (empty when nothing did)."""
    assert planned.quiz is not None
    quiz = quiz_repository.quiz_for_activity(session, activity.id)
    if quiz is None:  # a quiz activity without its settings row: give it one
        quiz = Quiz(activity_id=activity.id, course_id=activity.course_id)
        quiz_repository.add(session, quiz)
        changed = ["kuis"]
    else:
        changed = []
    # Open/close times are the studio's: a folder update keeps them.
    wanted = planned.quiz.model_copy(update={"open_at": quiz.open_at, "close_at": quiz.close_at})
    fields = [
        name
        for name in _QUIZ_FIELDS
        if getattr(quiz, "intro_md" if name == "intro" else name) != getattr(wanted, name)
    ]
    if fields or changed:
        quiz_service.update_quiz(session, quiz, wanted)
        changed += fields
    added, removed = _sync_questions(session, quiz, planned, actor)
    if added or removed:
        changed.append(f"soal +{added}/-{removed}")
        if quiz_repository.attempts_of_quiz(session, quiz.id, None):
            report.notes.append(
                f"{planned.rel}: soal kuis berubah; percobaan yang sudah ada tetap memakai soal "
                "yang dikerjakannya (nilai ulang lewat studio bila kunci jawaban diperbaiki)"
            )
    return changed


def _sync_questions(
    session: Session, quiz: Quiz, planned: PlannedActivity, actor: Principal
) -> tuple[int, int]:
    """Make the quiz hold the file's questions, in the file's order. A question whose content
    is unchanged keeps its bank question (and the versions attempts used); any other slot is
    taken out of the quiz (the question stays in the bank and in the attempts that showed it)
    and each new or edited question is added. Returns (added, removed)."""
    slots = list(quiz_repository.slots_of(session, quiz.id))
    fixed = [s.question_id for s in slots if s.question_id is not None]
    versions = quiz_repository.current_versions(session, fixed)
    current: list[tuple[QuizSlot, Question | None]] = []
    for slot in slots:
        found = versions.get(slot.question_id) if slot.question_id is not None else None
        question = None
        if found is not None:
            v, category = found
            question = quiz_service.stored_question(v, category).question
        current.append((slot, question))
    wanted = [_as_stored(q) for q in planned.questions]
    if [q for _, q in current] == wanted:
        return 0, 0
    free: dict[Question, list[QuizSlot]] = {}
    for slot, question in current:
        if question is not None:
            free.setdefault(question, []).append(slot)
    order: list[QuizSlot | None] = [free[q].pop(0) if free.get(q) else None for q in wanted]
    keep = {id(slot) for slot in order if slot is not None}
    removed = [slot for slot, _ in current if id(slot) not in keep]
    for slot in removed:
        session.delete(slot)
    session.flush()
    added = 0
    for index, (question, kept) in enumerate(zip(planned.questions, order, strict=True)):
        target = kept
        if target is None:
            bank_question = quiz_service.add_question(
                session, quiz, question, actor, question.category
            )
            target = quiz_repository.slot_for_question(session, quiz.id, bank_question.id)
            assert target is not None
            added += 1
        target.position = index + 1
    session.flush()
    return added, len(removed)


def _as_stored(q: Question) -> Question:
    """The question as the bank gives it back: its category named as `_category` stores it."""
    name = " ".join(q.category.split())[:255] or quiz_service.DEFAULT_CATEGORY
    return dataclasses.replace(q, category=name)


def _stored_file_id(
    session: Session, settings: Settings, planned: PlannedActivity, activity: Activity | None
) -> int | None:
    """The ContentFile for a video/document/file; the bytes are stored only when they changed."""
    if planned.kind not in content.FILE_KINDS:
        return None
    assert planned.path is not None and planned.sha256 is not None
    if activity is not None and activity.file_id is not None:
        current = repository.get_file(session, activity.file_id)
        if current is not None and current.sha256 == planned.sha256:
            return current.id
    try:
        with planned.path.open("rb") as handle:
            stored = uploads.store_stream(
                session,
                get_storage(settings),
                handle,
                kind=planned.kind.value,
                settings=settings,
            )
    except LMSError as exc:
        raise _located(exc, planned.rel) from None
    return stored.id


def _scorm_package_id(
    session: Session, settings: Settings, planned: PlannedActivity, activity: Activity | None
) -> int | None:
    """The package for a SCORM activity; unpacked again only when the archive changed."""
    if planned.kind != ActivityKind.SCORM:
        return None
    if activity is not None and activity.scorm_package_id is not None:
        current = content.get_package(session, activity.scorm_package_id)
        if current.sha256 == planned.sha256:
            return current.id
    stream: BinaryIO
    try:
        if planned.scorm_zip is not None:
            stream = io.BytesIO(planned.scorm_zip)
            return content.import_scorm(session, stream, settings).id
        assert planned.path is not None
        with planned.path.open("rb") as stream:
            return content.import_scorm(session, stream, settings).id
    except LMSError as exc:
        raise _located(exc, planned.rel) from None


def _retire_leftovers(
    session: Session,
    existing_sections: Sequence[Section],
    placed: list[tuple[Section, list[Activity]]],
    existing: dict[int, list[Activity]],
    claimed: set[int],
    report: ImportReport,
) -> None:
    """Activities no longer in the folder are deleted, or hidden when a learner has progress in
    them (delete_activity refuses); sections left empty are removed; order follows the folder."""
    kept: dict[int, list[Activity]] = {}
    for section_id, activities in existing.items():
        for activity in activities:
            if activity.id in claimed:
                continue
            try:
                service.delete_activity(session, activity)
                report.activities_deleted += 1
                report.changes.append(f"aktivitas dihapus: {activity.title}")
            except Conflict:
                if not activity.hidden:
                    service.set_hidden(session, activity, True)
                    report.activities_hidden += 1
                    report.changes.append(
                        f"aktivitas disembunyikan (sudah ada kemajuan peserta): {activity.title}"
                    )
                kept.setdefault(section_id, []).append(activity)
    for section, activities in placed:
        ordered = activities + kept.pop(section.id, [])
        moved = [
            activity.title
            for position, activity in enumerate(ordered, start=1)
            if _set_if_changed(activity, "position", position) and activity.id in claimed
        ]
        if moved:
            report.changes.append(f"urutan aktivitas di {section.title}: {', '.join(moved)}")
    used = {section.id for section, _ in placed}
    position = len(placed)
    for section in existing_sections:
        if section.id in used:
            continue
        leftovers = kept.get(section.id, [])
        if not leftovers:
            # Load the (now empty) collection the delete cascade walks; it is lazy="raise".
            session.refresh(section, ["activities"])
            repository.remove(session, section)
            report.sections_removed += 1
            report.changes.append(f"bagian dihapus: {section.title}")
            continue
        position += 1
        _set_if_changed(section, "position", position)
        for index, activity in enumerate(leftovers, start=1):
            _set_if_changed(activity, "position", index)
    session.flush()


def _apply_status(
    session: Session, course: Course, plan: CoursePlan, report: ImportReport, settings: Settings
) -> None:
    """`status: published` publishes a draft; the import never unpublishes or unarchives."""
    minutes = sum(
        a.duration_minutes
        for s in plan.sections
        for a in s.activities
        if a.required and not a.hidden
    )
    expected = course.jp * settings.minutes_per_jp
    if minutes != expected:
        report.notes.append(
            f"{plan.slug}: durasi aktivitas wajib {minutes} menit, sedangkan {course.jp} JP = "
            f"{expected} menit"
        )
    wanted = plan.spec.status
    if wanted == CourseStatus.PUBLISHED.value and course.status == CourseStatus.DRAFT:
        try:
            service.publish(session, course)
        except Conflict as exc:
            raise _located(exc, f"{plan.slug}/{COURSE_FILE}: status") from None
        report.published = True
        report.changes.append("kursus diterbitkan")
    elif wanted != course.status:
        report.notes.append(
            f"{plan.slug}/{COURSE_FILE}: status '{wanted}' tidak diterapkan; kursus sudah "
            f"'{course.status}' (ubah lewat studio)"
        )


def _apply_certification(
    session: Session, settings: Settings, course: Course, plan: CoursePlan, report: ImportReport
) -> None:
    """Rule: course.yaml's `certification:` fields set the course's rules; fields it leaves out
    keep what a training officer set (or the institution's setting)."""
    wanted = plan.spec.certification
    if wanted is None:
        return
    before = certificates_service.rules_for(session, course.id, settings)
    after = certificates_service.update_rules(session, course.id, wanted, settings)
    if after != before:
        report.changes.append("aturan sertifikasi diperbarui")


def _create_runs(
    session: Session, course: Course, plan: CoursePlan, actor: Principal, report: ImportReport
) -> None:
    """Rule: a run is created once, matched by name, and then belongs to the training officers
    (its dates, even relative ones, are never moved by a later import)."""
    names = {run.name for run in repository.runs_of(session, [course.id])}
    for spec in plan.spec.runs:
        name = " ".join(spec.name.split())
        if name in names:
            continue
        data = RunCreate.model_validate(spec.model_dump())
        service.create_run(session, course, data, actor)
        names.add(name)
        report.runs_created += 1
        report.changes.append(f"angkatan baru: {name}")
