"""Competency rules: the catalog, the required level of an ASN, gaps, JPM and its band,
recommendations (courses, mentors), the gap map and enrol-by-gap. Flushes only, never commits.

Other domains call `gap_summaries` and `competency_names` (batched; no per-user queries).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from app.accounts.constants import STAFF_ROLES
from app.auth.service import Principal
from app.competency import repository
from app.competency.constants import GROUP_LABELS, CompetencyGroup
from app.competency.models import Competency
from app.competency.schemas import (
    CompetencyCreate,
    CompetencyLevelRead,
    CompetencyRead,
    CompetencyUpdate,
    EnrolByGapIn,
    EnrolByGapResult,
    GapCandidate,
    GapMapCell,
    GapMapCompetency,
    GapMapOpd,
    GapMapRead,
    GapRead,
    GapsRead,
    LevelRead,
    RecommendedCourse,
    RecommendedMentor,
)
from app.core import readcache
from app.core.config import Settings, get_settings
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.i18n import gettext_ as _
from app.courses import service as courses_service
from app.courses.schemas import EnrolRequest

MAX_RECOMMENDED_COURSES = 10
MAX_RECOMMENDED_MENTORS = 5


# --- pure rules ---------------------------------------------------------------------------------


def jpm_percent(pairs: Iterable[tuple[int, int]]) -> float | None:
    """JPM (job person match) = Σ min(achieved, required) / Σ required × 100 over the assessed
    competencies that have a standard (DESIGN.md); None when there is none."""
    achieved_total = 0
    required_total = 0
    for achieved, required in pairs:
        if required <= 0:
            continue
        achieved_total += min(achieved, required)
        required_total += required
    if required_total == 0:
        return None
    return round(achieved_total / required_total * 100, 2)


def jpm_band(percent: float | None, settings: Settings) -> str | None:
    """The mapping band of a JPM: the first configured (minimum, label) it reaches, highest first
    (>= 90 optimal, 78-<90 cukup optimal), else `jpm_lowest_band`."""
    if percent is None:
        return None
    for minimum, label in sorted(settings.jpm_bands, key=lambda b: -b[0]):
        if percent >= minimum:
            return label
    return settings.jpm_lowest_band


def gap_of(achieved: int, required: int | None) -> int:
    """Gap = required − achieved, never negative (exceeding the standard is no gap)."""
    return max((required or 0) - achieved, 0)


def fold(text: str) -> str:
    """A name as a key: single spaces, lower case ("Analis  Kebijakan" -> "analis kebijakan")."""
    return " ".join(text.split()).lower()


class CatalogLookup:
    """Competency lookup by code (any case, '-' or ' ' for '_') or by name."""

    def __init__(self, competencies: Sequence[Competency]) -> None:
        self.by_key: dict[str, Competency] = {}
        for c in competencies:
            self.by_key[c.code.lower()] = c
        for c in competencies:
            self.by_key.setdefault(fold(c.name), c)

    def find(self, raw: str) -> Competency | None:
        key = fold(raw)
        return self.by_key.get(key.replace("-", "_").replace(" ", "_")) or self.by_key.get(key)


def band_label(band: str | None) -> str:
    return (band or "").replace("_", " ").capitalize()


# --- public functions for other domains ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GapSummary:
    jpm_percent: float | None
    band: str | None
    gap_count: int
    gap_codes: list[str] = field(default_factory=list)


def gap_summaries(
    session: Session, user_ids: Sequence[int], settings: Settings
) -> dict[int, GapSummary]:
    """JPM, band and gap competencies of each user (every id gets an entry; unassessed users get
    `jpm_percent=None`); one query per 900 users."""
    ids = list(dict.fromkeys(user_ids))
    pairs: dict[int, list[tuple[int, int]]] = defaultdict(list)
    gaps: dict[int, list[str]] = defaultdict(list)
    for user_id, code, achieved, required in repository.gap_rows(session, ids):
        if required is None:
            continue
        pairs[user_id].append((achieved, required))
        if gap_of(achieved, required) > 0:
            gaps[user_id].append(code)
    out: dict[int, GapSummary] = {}
    for uid in ids:
        percent = jpm_percent(pairs.get(uid, ()))
        codes = sorted(gaps.get(uid, ()))
        out[uid] = GapSummary(percent, jpm_band(percent, settings), len(codes), codes)
    return out


def competency_names(session: Session) -> dict[str, str]:
    """Code -> name of every competency in the catalog (inactive ones too, for old records)."""
    return repository.competency_names(session)


# --- catalog ------------------------------------------------------------------------------------


def to_read(c: Competency) -> CompetencyRead:
    descriptions = list(c.level_descriptions or [])
    return CompetencyRead(
        code=c.code,
        name=c.name,
        group=c.group,
        description=c.description,
        max_level=c.max_level,
        levels=[
            LevelRead(
                level=i,
                description=(descriptions[i - 1] or None) if i <= len(descriptions) else None,
            )
            for i in range(1, c.max_level + 1)
        ],
        is_active=c.is_active,
    )


def list_competencies(session: Session, *, include_inactive: bool = False) -> list[CompetencyRead]:
    return [to_read(c) for c in repository.competencies(session, include_inactive=include_inactive)]


def catalog_rows(session: Session) -> list[Competency]:
    return list(repository.competencies(session))


def get_competency(session: Session, code: str) -> Competency:
    competency = repository.get_competency(session, code.strip().lower())
    if competency is None:
        raise NotFound(
            _("Kompetensi '%(code)s' tidak ada di katalog.") % {"code": code},
            code="competency_not_found",
        )
    return competency


def _check_levels(max_level: int, descriptions: list[str], settings: Settings) -> list[str]:
    """Levels run 1..max_level (PermenPANRB 38/2017: 1–5; the ceiling is a setting)."""
    if max_level > settings.competency_max_level:
        raise ValidationFailed(
            _("Level tertinggi paling banyak %(competency_max_level)s.")
            % {"competency_max_level": settings.competency_max_level},
            field="max_level",
        )
    cleaned = [d.strip() for d in descriptions]
    while cleaned and not cleaned[-1]:
        cleaned.pop()
    if len(cleaned) > max_level:
        raise ValidationFailed(
            _("Deskripsi level lebih banyak (%(n)s) daripada level tertinggi (%(max_level)s).")
            % {"n": len(cleaned), "max_level": max_level},
            field="level_descriptions",
        )
    return cleaned


def create_competency(
    session: Session, data: CompetencyCreate, settings: Settings
) -> CompetencyRead:
    code = data.code.strip().lower().replace("-", "_")
    if repository.get_competency(session, code) is not None:
        raise Conflict(
            _("Kode kompetensi '%(code)s' sudah dipakai.") % {"code": code},
            code="duplicate_competency",
        )
    competency = Competency(
        code=code,
        name=" ".join(data.name.split()),
        group=data.group.value,
        description=(data.description or "").strip() or None,
        max_level=data.max_level,
        level_descriptions=_check_levels(data.max_level, data.level_descriptions, settings),
        is_active=True,
    )
    repository.add(session, competency)
    return to_read(competency)


def update_competency(
    session: Session, code: str, data: CompetencyUpdate, settings: Settings
) -> CompetencyRead:
    competency = get_competency(session, code)
    fields = data.model_fields_set
    if data.name is not None:
        competency.name = " ".join(data.name.split())
    if data.group is not None:
        competency.group = data.group.value
    if "description" in fields:
        competency.description = (data.description or "").strip() or None
    max_level = data.max_level if data.max_level is not None else competency.max_level
    descriptions = (
        data.level_descriptions
        if data.level_descriptions is not None
        else list(competency.level_descriptions or [])
    )
    competency.level_descriptions = _check_levels(max_level, descriptions, settings)
    competency.max_level = max_level
    if data.is_active is not None:
        competency.is_active = data.is_active
    session.flush()
    return to_read(competency)


def course_tags(
    session: Session, codes: Sequence[str], levels: Mapping[str, int | None]
) -> dict[str, int | None]:
    """A course's competency tags checked against the catalog (codes or names, any case), each
    with its target level (None: any level) within the competency's levels."""
    lookup = CatalogLookup(repository.competencies(session))
    tags: dict[str, int | None] = {}
    unknown: list[str] = []
    for raw in [*codes, *levels]:
        found = lookup.find(raw) if raw.strip() else None
        if found is None:
            if raw.strip() and raw.strip() not in unknown:
                unknown.append(raw.strip())
            continue
        tags.setdefault(found.code, None)
    if unknown:
        known = ", ".join(c.code for c in repository.competencies(session, include_inactive=False))
        raise ValidationFailed(
            _("Kompetensi tidak ada di katalog: %(value)s. Kode yang tersedia: %(known)s.")
            % {"value": ", ".join(unknown), "known": known},
            field="competencies",
            code="unknown_competency",
        )
    for raw, level in levels.items():
        found = lookup.find(raw)
        assert found is not None
        if level is not None and not 1 <= level <= found.max_level:
            raise ValidationFailed(
                _("Level sasaran %(name)s harus 1–%(max_level)s (diterima %(level)s).")
                % {"name": found.name, "max_level": found.max_level, "level": level},
                field="competencies",
                code="bad_target_level",
            )
        tags[found.code] = level
    return tags


def group_choices() -> list[tuple[str, str]]:
    return [(g.value, GROUP_LABELS[g]) for g in CompetencyGroup]


# --- gaps of one ASN ----------------------------------------------------------------------------


def is_staff(principal: Principal) -> bool:
    return principal.has_any(*STAFF_ROLES)


def user_gaps(session: Session, user_id: int, principal: Principal, settings: Settings) -> GapsRead:
    """The ASN's gaps, JPM and recommendations; the ASN themself or staff (404 for others, so
    ids do not reveal who exists)."""
    if principal.user_id != user_id and not is_staff(principal):
        raise NotFound("Pengguna tidak ditemukan.", code="user_not_found")
    brief = repository.user_brief(session, user_id)
    if brief is None:
        raise NotFound("Pengguna tidak ditemukan.", code="user_not_found")
    catalog = {c.code: c for c in repository.competencies(session)}
    rows = repository.user_gap_rows(session, user_id)
    levels: list[CompetencyLevelRead] = []
    for r in rows:
        c = catalog.get(r.competency_code)
        levels.append(
            CompetencyLevelRead(
                competency=r.competency_code,
                name=c.name if c else r.competency_code,
                group=c.group if c else None,
                required=r.required,
                achieved=r.level,
                gap=gap_of(r.level, r.required),
                assessed_on=r.assessed_on,
            )
        )
    levels.sort(key=lambda x: (-x.gap, x.group or "", x.name))
    gaps = [
        GapRead(competency=x.competency, name=x.name, required=x.required or 0,
                achieved=x.achieved, gap=x.gap)
        for x in levels if x.gap > 0
    ]  # fmt: skip
    percent = jpm_percent((x.achieved, x.required) for x in levels if x.required is not None)
    return GapsRead(
        user_id=user_id,
        jpm_percent=percent,
        band=jpm_band(percent, settings),
        assessed_on=max((x.assessed_on for x in levels), default=None),
        gaps=gaps,
        competencies=levels,
        recommended_courses=recommend_courses(session, gaps, user_id=user_id),
        recommended_mentors=recommend_mentors(session, gaps, user_id=user_id, opd_code=brief[5]),
    )


def recommend_courses(
    session: Session, gaps: Sequence[GapRead], *, user_id: int
) -> list[RecommendedCourse]:
    """Published courses tagged with a gap competency whose target level (or no level) is above
    the achieved level; biggest gaps first, then the ones the ASN is already enrolled in (to
    finish), then courses with an open run."""
    codes = [g.competency for g in gaps]
    rows = repository.courses_for(session, codes, courses_service.today())
    enrolled = repository.enrolled_course_ids(session, user_id, list({r.id for r in rows}))
    return rank_courses(gaps, rows, enrolled)[:MAX_RECOMMENDED_COURSES]


def rank_courses(
    gaps: Sequence[GapRead], rows: Sequence[Any], enrolled: set[int]
) -> list[RecommendedCourse]:
    """Of the courses tagged with the gaps (`rows` of repository.courses_for), those whose
    target level (or no level) is above the achieved one; biggest gaps first, then the ones the
    ASN is already enrolled in (to finish), then courses with an open run. Pure."""
    order = {g.competency: i for i, g in enumerate(gaps)}
    achieved = {g.competency: g.achieved for g in gaps}
    fitting = [
        r
        for r in rows
        if r.competency_code in order
        and (r.target_level is None or r.target_level > achieved[r.competency_code])
    ]
    fitting.sort(
        key=lambda r: (
            order[r.competency_code],
            r.id not in enrolled,
            r.run_id is None,
            r.target_level is None,
            r.title,
        )
    )
    out: dict[int, RecommendedCourse] = {}
    for r in fitting:
        if r.id not in out:
            out[r.id] = RecommendedCourse(
                id=r.id, code=r.code, title=r.title, jp=r.jp, competency=r.competency_code,
                target_level=r.target_level, run_id=r.run_id, enrolled=r.id in enrolled,
            )  # fmt: skip
    return list(out.values())


class CatalogName(Protocol):
    """What naming and ordering a gap needs of a competency (the ORM row or a plain row)."""

    @property
    def name(self) -> str: ...
    @property
    def group(self) -> str: ...


def gap_reads(
    rows: Sequence[tuple[str, int, int | None]], catalog: Mapping[str, CatalogName]
) -> list[GapRead]:
    """(competency, achieved, required) of one ASN as their gaps, biggest first (then group and
    name, as the ASN's own page lists them)."""
    gaps = []
    for code, achieved, required in rows:
        gap = gap_of(achieved, required)
        if required is None or gap <= 0:
            continue
        c = catalog.get(code)
        gaps.append((gap, c.group if c else "", c.name if c else code, code, achieved, required))
    gaps.sort(key=lambda g: (-g[0], g[1] or "", g[2]))
    return [
        GapRead(competency=code, name=name, required=required, achieved=achieved, gap=gap)
        for gap, _group, name, code, achieved, required in gaps
    ]


def course_suggestions(
    session: Session, user_ids: Sequence[int], *, limit: int = 3
) -> dict[int, list[RecommendedCourse]]:
    """Up to `limit` recommended courses (as `recommend_courses`) for each of many ASN, in a
    fixed number of queries (the monthly reminder for 10,000 ASN): their gaps, the courses
    tagged with any gap, their enrolments in those. ASN without a gap get no entry."""
    ids = list(dict.fromkeys(user_ids))
    levels: dict[int, list[tuple[str, int, int | None]]] = defaultdict(list)
    for uid, code, achieved, required in repository.gap_rows(session, ids):
        levels[uid].append((code, achieved, required))
    if not levels:
        return {}
    catalog = {c.code: c for c in repository.competencies(session)}
    gaps = {uid: gap_reads(rows, catalog) for uid, rows in levels.items()}
    gaps = {uid: g for uid, g in gaps.items() if g}
    codes = sorted({g.competency for found in gaps.values() for g in found})
    rows = repository.courses_for(session, codes, courses_service.today())
    by_code: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_code[r.competency_code].append(r)
    enrolled = repository.enrolled_course_ids_of_users(
        session, list(gaps), list({r.id for r in rows})
    )
    out: dict[int, list[RecommendedCourse]] = {}
    for uid, found in gaps.items():
        mine = [r for g in found for r in by_code.get(g.competency, ())]
        ranked = rank_courses(found, mine, enrolled.get(uid, set()))[:limit]
        if ranked:
            out[uid] = ranked
    return out


@dataclass(frozen=True, slots=True)
class Suggestions:
    """One ASN's recommended courses and the catalog's names to print them with."""

    courses: list[RecommendedCourse]
    names: dict[str, str]  # competency code -> name; empty when no course is recommended


# The catalog's (code, name, group) rows: read on every learner's home page that has a gap,
# changed only by an admin editing the catalog (app/core/readcache.py).
catalog_names = readcache.WatchedCache(
    "competency_catalog_names", {"competency"}, lambda: get_settings().read_cache_seconds
)


def _catalog_names(session: Session) -> dict[str, Any]:
    """Code -> (code, name, group) row of every competency, inactive ones too; from this
    process's cache when it has them."""
    found: dict[str, Any] | None = catalog_names.get("all")
    if found is None:
        generation = catalog_names.generation
        found = {r.code: r for r in repository.catalog_names(session)}
        catalog_names.put("all", found, generation)
    return found


def suggestions_for(session: Session, user_id: int, *, limit: int = 3) -> Suggestions:
    """`course_suggestions` of one ASN (the home page) with the competency names, in at most
    three queries: the gaps, the catalog's names (cached), the tagged courses with the ASN's
    enrolment."""
    levels = repository.user_gap_levels(session, user_id)
    if not levels:
        return Suggestions([], {})
    catalog = _catalog_names(session)
    gaps = gap_reads(levels, catalog)
    if not gaps:
        return Suggestions([], {})
    rows = repository.courses_for_user(
        session, sorted({g.competency for g in gaps}), courses_service.today(), user_id
    )
    ranked = rank_courses(gaps, rows, {r.id for r in rows if r.enrolled})[:limit]
    return Suggestions(ranked, {code: r.name for code, r in catalog.items()} if ranked else {})


def recommend_mentors(
    session: Session, gaps: Sequence[GapRead], *, user_id: int, opd_code: str | None
) -> list[RecommendedMentor]:
    """Mentor-role users whose own latest level reaches the required level; same OPD first."""
    order = {g.competency: i for i, g in enumerate(gaps)}
    required = {g.competency: g.required for g in gaps}
    rows = [
        r
        for r in repository.mentors_for(session, list(order))
        if r.id != user_id and r.level >= required[r.competency_code]
    ]
    same = {r.id: r.opd_code is not None and r.opd_code == opd_code for r in rows}
    rows.sort(key=lambda r: (not same[r.id], order[r.competency_code], -r.level, r.name))
    out: dict[int, RecommendedMentor] = {}
    for r in rows:
        if r.id not in out:
            out[r.id] = RecommendedMentor(
                id=r.id, name=r.name, opd_code=r.opd_code, competency=r.competency_code,
                level=r.level, same_opd=same[r.id],
            )  # fmt: skip
    return list(out.values())[:MAX_RECOMMENDED_MENTORS]


# --- gap map ------------------------------------------------------------------------------------


def gap_map(
    session: Session, *, group: str | None = None, opd_code: str | None = None
) -> GapMapRead:
    """Competency × OPD: of the active ASN assessed in a competency that has a standard for them,
    the share whose latest level is below it (one GROUP BY query)."""
    if group and group not in {g.value for g in CompetencyGroup}:
        raise ValidationFailed(
            "Kelompok kompetensi harus manajerial, sosial_kultural, atau teknis.",
            field="competency_group",
        )
    opds = repository.opds(session)
    if opd_code and opd_code not in {code for _i, code, _n in opds}:
        raise ValidationFailed(
            _("OPD '%(opd_code)s' tidak ditemukan.") % {"opd_code": opd_code}, field="opd"
        )
    cells = repository.gap_map_cells(session, group=group or None, opd_code=opd_code or None)
    opd_by_id = {oid: (code, name) for oid, code, name in opds}
    present_codes = {c for _o, c, _n, _g in cells}
    present_opds = {o for o, _c, _n, _g in cells}
    competencies = [
        GapMapCompetency(code=c.code, name=c.name, group=c.group)
        for c in repository.competencies(session, include_inactive=False)
        if (not group or c.group == group) and c.code in present_codes
    ]
    opd_rows = [
        GapMapOpd(code=opd_by_id[o][0], name=opd_by_id[o][1])
        for o in sorted(present_opds, key=lambda o: opd_by_id[o][0] if o in opd_by_id else "")
        if o in opd_by_id
    ]
    if None in present_opds:
        opd_rows.append(GapMapOpd(code="-", name="(tanpa OPD)"))
    return GapMapRead(
        competencies=competencies,
        opds=opd_rows,
        cells=[
            GapMapCell(
                competency=c,
                opd_code=opd_by_id[o][0] if o in opd_by_id else "-",
                assessed=n,
                with_gap=g,
                gap_percent=round(g / n * 100, 1) if n else 0.0,
            )
            for o, c, n, g in cells
        ],
    )


# --- enrol by gap -------------------------------------------------------------------------------


def gap_candidates(
    session: Session, competency_code: str, *, opd_code: str | None
) -> list[GapCandidate]:
    """Active ASN whose latest level in the competency is below their required level."""
    competency = get_competency(session, competency_code)
    if opd_code and repository.opd_id(session, opd_code) is None:
        raise ValidationFailed(
            _("OPD '%(opd_code)s' tidak ditemukan.") % {"opd_code": opd_code}, field="opd_code"
        )
    return [
        GapCandidate(user_id=r.user_id, name=r.name, nip=r.nip, opd_code=r.opd_code,
                     achieved=r.level, required=r.required)
        for r in repository.users_with_gap(session, competency.code, opd_code=opd_code or None)
    ]  # fmt: skip


def enrol_by_gap(session: Session, data: EnrolByGapIn, principal: Principal) -> EnrolByGapResult:
    """Enrol every ASN with a gap in the competency (optionally of one OPD) into the run, through
    the courses service (capacity, window, duplicates); `dry_run` only lists them."""
    run = courses_service.get_run(session, data.run_id)
    candidates = gap_candidates(session, data.competency, opd_code=data.opd_code)
    code = get_competency(session, data.competency).code
    if data.dry_run:
        return EnrolByGapResult(competency=code, run_id=run.id, dry_run=True, candidates=candidates)
    if not candidates:
        raise ValidationFailed(
            _("Tidak ada ASN dengan kesenjangan pada kompetensi ini di OPD %(opd)s.")
            % {"opd": data.opd_code}
            if data.opd_code
            else _("Tidak ada ASN dengan kesenjangan pada kompetensi ini."),
            field="competency",
            code="no_gap_candidates",
        )
    result = courses_service.enrol_many(
        session, run, EnrolRequest(user_ids=[c.user_id for c in candidates]), principal
    )
    return EnrolByGapResult(
        competency=code, run_id=run.id, dry_run=False, candidates=candidates, result=result
    )


def today() -> dt.date:
    return courses_service.today()
