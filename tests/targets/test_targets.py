"""Targets dashboard: every figure equals an independent count from the raw rows of a seeded data
set (OPDs with unit kerja, PPPK cap, withdrawn credits, other years, inactive users, staff
without NIP, credits without a funding source), the drill-down, the exports and who may see them."""

from __future__ import annotations

import datetime as dt
import io
import math
import random
from collections import defaultdict
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from app.accounts.models import Opd, User
from app.competency.models import CompetencyAssessment
from app.core.db import get_engine, session_scope
from app.jp.models import JpCredit
from app.targets import charts, service
from app.targets.constants import DISTRIBUTION_EDGES, FUNDING_SOURCES, UNKNOWN_FUNDING
from app.targets.schemas import OpdTargetRead
from tests.factories import api_token, browser_login, make_user, valid_nip
from tests.queries import count_queries

YEAR = 2025
TARGET = 20.0
CAP = 24.0


# --- the seeded data set -------------------------------------------------------------------------


def seed(
    *, users: int = 90, seed_value: int = 6, prefix: str = "", offset: int = 0
) -> dict[str, int]:
    """OPDs A, B, C (A has unit kerja A1, and A1 has A1X), ASN spread over them and no OPD, PNS
    and PPPK, inactive users and staff without NIP; credits in YEAR and the years around it, some
    withdrawn, some without a funding source, fractional JP. Returns OPD ids by code."""
    rng = random.Random(seed_value)
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with session_scope() as s:
        ids: dict[str, int] = {}
        for code, parent in (("A", None), ("B", None), ("C", None), ("A1", "A"), ("A1X", "A1")):
            opd = Opd(code=prefix + code, name=f"Dinas {code}", parent_id=ids.get(parent or ""))
            s.add(opd)
            s.flush()
            ids[code] = opd.id
        opd_choices = [*ids.values(), None]
        people = []
        for i in range(offset, offset + users):
            staff = i % 17 == 0
            people.append(
                User(
                    nip=None
                    if staff
                    else valid_nip(seq=i, birth=f"19{80 + i // 900}{1 + i % 12:02d}01"),
                    name=f"ASN {i:03d}",
                    email=f"asn{i}@example.go.id",
                    employment="PPPK" if i % 4 == 0 else "PNS",
                    opd_id=rng.choice(opd_choices),
                    is_active=i % 13 != 0,
                )
            )
        s.add_all(people)
        s.flush()
        rows = []
        source_id = offset * 10
        for person in people:
            for _ in range(rng.choice((0, 0, 1, 2, 3, 5))):
                source_id += 1
                year = rng.choice((YEAR, YEAR, YEAR, YEAR - 1, YEAR + 1))
                rows.append({
                    "user_id": person.id, "year": year, "source": rng.choice(
                        ("certificate", "external_training", "mentoring")),
                    "source_id": source_id, "jp": rng.choice((2, 4, 4.5, 6, 8, 10, 12, 20, 1.25)),
                    "credited_on": dt.date(year, rng.randint(1, 12), rng.randint(1, 28)),
                    "reference": f"REF-{source_id}",
                    "funding_source": rng.choice((*FUNDING_SOURCES, None)),
                    "created_at": now,
                    "withdrawn_at": now if rng.random() < 0.15 else None,
                    "withdrawn_reason": None,
                })  # fmt: skip
        s.execute(JpCredit.__table__.insert(), rows)
        # Exactly at the target, just below it, and a capped PPPK, in named users.
        exact, below, pppk = people[1], people[2], people[4]  # PNS, PNS, PPPK
        for person, jps in ((exact, (12, 8)), (below, (19.5,)), (pppk, (20, 10))):
            person.is_active, person.opd_id = True, ids["B"]
            s.execute(text("DELETE FROM jp_credit WHERE user_id = :u"), {"u": person.id})
            for jp in jps:
                source_id += 1
                s.add(JpCredit(user_id=person.id, year=YEAR, source="certificate",
                               source_id=source_id, jp=jp, credited_on=dt.date(YEAR, 3, 3),
                               reference="x", funding_source="apbn"))  # fmt: skip
        assert pppk.employment == "PPPK" and below.employment == "PNS"
    return ids


def independent_counts(year: int) -> dict[str, Any]:
    """The figures recomputed from raw rows with plain SQL and Python (no app code)."""
    with get_engine().connect() as conn:
        opds = {r.id: r for r in conn.execute(text("SELECT id, code, parent_id FROM opd"))}
        users = list(conn.execute(text(
            "SELECT id, nip, employment, opd_id, is_active FROM user_account")))  # fmt: skip
        credits = list(conn.execute(text(
            "SELECT user_id, year, jp, credited_on, funding_source, withdrawn_at FROM jp_credit")))  # fmt: skip

    def root_code(opd_id: int | None) -> str | None:
        while opd_id is not None and opds[opd_id].parent_id is not None:
            opd_id = opds[opd_id].parent_id
        return opds[opd_id].code if opd_id is not None else None

    active = {u.id: u for u in users if u.is_active and u.nip}
    live = [c for c in credits if c.year == year and c.withdrawn_at is None and c.user_id in active]
    raw: dict[int, list[float]] = defaultdict(list)
    for c in live:
        raw[c.user_id].append(c.jp)
    totals = {}
    for uid, u in active.items():
        total = math.fsum(raw.get(uid, []))
        if u.employment == "PPPK":
            total = min(total, CAP)
        totals[uid] = round(total, 2)
    by_opd: dict[str | None, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for uid, u in active.items():
        row = by_opd[root_code(u.opd_id)]
        row["active_asn"] += 1
        row["participated"] += 1 if uid in raw else 0
        row["jp_compliant"] += 1 if totals[uid] >= TARGET else 0
        row["jp_total"] += totals[uid]
    funding: dict[str, dict[str, Any]] = defaultdict(lambda: {"users": set(), "jp": 0.0})
    for c in live:
        f = funding[c.funding_source or UNKNOWN_FUNDING]
        f["users"].add(c.user_id)
        f["jp"] += c.jp
    edges = (0.0, *DISTRIBUTION_EDGES)
    buckets = [0] * (len(DISTRIBUTION_EDGES) + 2)
    for total in totals.values():
        if total <= 0:
            buckets[0] += 1
        else:
            buckets[next((i for i, e in enumerate(edges[1:], 1) if total < e), len(edges))] += 1
    month_jp = [0.0] * 13
    first: dict[int, int] = {}
    for c in live:
        on = (
            c.credited_on
            if isinstance(c.credited_on, dt.date)
            else dt.date.fromisoformat(c.credited_on)
        )
        month_jp[on.month] += c.jp
        first[c.user_id] = min(first.get(c.user_id, 13), on.month)
    cumulative = [sum(1 for m in first.values() if m <= month) for month in range(1, 13)]
    return {
        "active_asn": len(active),
        "participated": len(raw),
        "jp_compliant": sum(1 for t in totals.values() if t >= TARGET),
        "by_opd": by_opd,
        "funding": funding,
        "buckets": buckets,
        "month_jp": month_jp[1:],
        "cumulative": cumulative,
        "below": sorted(uid for uid, t in totals.items() if t < TARGET),
        "totals": totals,
    }


def pct(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


# --- the report ----------------------------------------------------------------------------------


def test_report_matches_an_independent_count_from_raw_rows(settings) -> None:  # type: ignore[no-untyped-def]
    seed()
    expected = independent_counts(YEAR)
    with session_scope() as s:
        report = service.report(s, YEAR, settings)
    assert expected["active_asn"] > 40 and 0 < expected["participated"] < expected["active_asn"]
    assert report.active_asn == expected["active_asn"]
    assert report.participated == expected["participated"]
    assert report.participation_percent == pct(expected["participated"], expected["active_asn"])
    assert report.jp_compliant == expected["jp_compliant"]
    assert report.jp_compliance_percent == pct(expected["jp_compliant"], expected["active_asn"])
    assert report.participation_target_percent == 90 and report.jp_target == TARGET
    # by OPD: unit kerja A1 and A1X count in A; ASN without an OPD get their own row
    assert {o.opd_code for o in report.by_opd} == set(expected["by_opd"])
    assert "A1" not in {o.opd_code for o in report.by_opd}
    for o in report.by_opd:
        want = expected["by_opd"][o.opd_code]
        assert (o.active_asn, o.participated, o.jp_compliant) == (
            want["active_asn"],
            want["participated"],
            want["jp_compliant"],
        ), o.opd_code
        assert o.jp_total == pytest.approx(want["jp_total"], abs=0.01)
        assert o.participation_percent == pct(want["participated"], want["active_asn"])
        assert o.average_jp == pytest.approx(want["jp_total"] / want["active_asn"], abs=0.01)
    # by funding source: the four always, then credits without one
    got = {f.funding_source: f for f in report.by_funding_source}
    assert [f.funding_source for f in report.by_funding_source][:4] == list(FUNDING_SOURCES)
    assert set(got) == set(FUNDING_SOURCES) | set(expected["funding"])
    assert UNKNOWN_FUNDING in got
    for key, f in got.items():
        want = expected["funding"].get(key, {"users": set(), "jp": 0.0})
        assert f.participants == len(want["users"]), key
        assert f.jp == pytest.approx(want["jp"], abs=0.01), key
    assert [d.asn for d in report.distribution] == expected["buckets"]
    assert sum(d.asn for d in report.distribution) == report.active_asn
    assert [t.jp for t in report.trend] == pytest.approx(expected["month_jp"], abs=0.01)
    assert [t.participants_cumulative for t in report.trend] == expected["cumulative"]
    assert report.trend[-1].participants_cumulative == report.participated


def test_pppk_cap_exact_target_and_withdrawn_credit(settings) -> None:  # type: ignore[no-untyped-def]
    """20 JP meets the target, 19.5 does not; a PPPK's 30 JP count as 24; a withdrawn credit and
    a credit of another year count for nothing."""
    with session_scope() as s:
        opd = Opd(code="X", name="Dinas X")
        s.add(opd)
        s.flush()
        people = {
            name: User(nip=valid_nip(seq=700 + i), name=name, employment=emp, opd_id=opd.id)
            for i, (name, emp) in enumerate((("exact", "PNS"), ("below", "PNS"),
                                             ("pppk", "PPPK"), ("withdrawn", "PNS")))
        }  # fmt: skip
        s.add_all(people.values())
        s.flush()
        rows = [("exact", 12, YEAR, None), ("exact", 8, YEAR, None), ("below", 19.5, YEAR, None),
                ("pppk", 30, YEAR, None), ("withdrawn", 40, YEAR, dt.datetime.now(dt.UTC)),
                ("withdrawn", 40, YEAR - 1, None)]  # fmt: skip
        for i, (name, jp, year, withdrawn) in enumerate(rows):
            s.add(JpCredit(user_id=people[name].id, year=year, source="certificate", source_id=i,
                           jp=jp, credited_on=dt.date(year, 5, 1), reference="r",
                           withdrawn_at=withdrawn))  # fmt: skip
    with session_scope() as s:
        report = service.report(s, YEAR, settings)
        below = service.below_target(s, YEAR, settings)
    assert (report.active_asn, report.participated, report.jp_compliant) == (4, 3, 2)
    assert report.jp_total == 12 + 8 + 19.5 + 24
    assert [(r.name, r.jp, r.shortfall, r.participated) for r in below.items] == [
        ("withdrawn", 0.0, 20.0, False), ("below", 19.5, 0.5, True)]  # fmt: skip
    # the withdrawn credit's funding source is empty; the unknown row appears for live ones only
    assert UNKNOWN_FUNDING in {f.funding_source for f in report.by_funding_source}
    unknown = next(f for f in report.by_funding_source if f.funding_source == UNKNOWN_FUNDING)
    assert (unknown.participants, unknown.jp) == (3, 12 + 8 + 19.5 + 30)


def test_empty_year_has_zero_figures(settings) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        report = service.report(s, YEAR, settings)
    assert report.active_asn == 0 and report.participation_percent == 0.0
    assert report.by_opd == [] and [f.participants for f in report.by_funding_source] == [0] * 4
    assert len(report.trend) == 12 and len(report.distribution) == 5


def test_report_query_count_does_not_grow_with_data(settings) -> None:  # type: ignore[no-untyped-def]
    seed(users=20)
    with session_scope() as s, count_queries() as small:
        service.report(s, YEAR, settings)
        service.below_target(s, YEAR, settings, opd_code="A")
    seed(users=150, seed_value=9, prefix="Z", offset=1000)
    with session_scope() as s, count_queries() as large:
        service.report(s, YEAR, settings)
        service.below_target(s, YEAR, settings, opd_code="A")
    assert len(large) == len(small) <= 12


def test_sort_keys() -> None:
    fields = list(OpdTargetRead.model_fields)
    rows = [
        OpdTargetRead(**dict(zip(fields, values, strict=True)))
        for values in (
            ("B", "Dinas B", 10, 5, 50.0, 1, 10.0, 50.0, 5.0),
            (None, None, 3, 0, 0.0, 0, 0.0, 0.0, 0.0),
            ("A", "Dinas A", 20, 19, 95.0, 8, 40.0, 300.0, 15.0),
        )
    ]
    assert [r.opd_code for r in service.sort_opds(rows, "opd")] == ["A", "B", None]
    assert [r.opd_code for r in service.sort_opds(rows, "-partisipasi")] == ["A", "B", None]
    assert [r.opd_code for r in service.sort_opds(rows, "asn")] == ["B", "A", None]
    assert service.valid_sort("'; drop") == "opd" and service.valid_sort("-jp") == "-jp"


# --- drill-down ----------------------------------------------------------------------------------


def test_below_target_filters_by_opd_with_unit_kerja_and_pages(settings) -> None:  # type: ignore[no-untyped-def]
    ids = seed()
    expected = independent_counts(YEAR)
    with get_engine().connect() as conn:
        opd_of = dict(conn.execute(text("SELECT id, opd_id FROM user_account")).all())
    in_a = {ids["A"], ids["A1"], ids["A1X"]}
    with session_scope() as s:
        everyone = service.below_target(s, YEAR, settings, per_page=None)
        only_a = service.below_target(s, YEAR, settings, opd_code="A", per_page=None)
        page2 = service.below_target(s, YEAR, settings, page=2, per_page=7)
        no_opd = service.below_target(s, YEAR, settings, opd_code="-", per_page=None)
    assert sorted(r.user_id for r in everyone.items) == expected["below"]
    assert everyone.total == len(expected["below"])
    jps = [r.jp for r in everyone.items]
    assert jps == sorted(jps)
    assert sorted(r.user_id for r in only_a.items) == [
        u for u in expected["below"] if opd_of[u] in in_a
    ]
    assert page2.total == everyone.total and page2.items == everyone.items[7:14]
    assert sorted(r.user_id for r in no_opd.items) == [
        u for u in expected["below"] if opd_of[u] is None
    ]
    assert no_opd.items and all(r.opd_code is None for r in no_opd.items)
    with session_scope() as s, pytest.raises(Exception, match="tidak ada"):
        service.below_target(s, YEAR, settings, opd_code="NOPE")


def test_below_target_shows_competency_gaps(settings) -> None:  # type: ignore[no-untyped-def]
    learner = make_user(name="Budi Santoso")
    other = make_user(name="Citra")
    with session_scope() as s:
        for code, level, required in (("literasi_digital", 2, 4), ("integritas", 3, 3)):
            s.add(CompetencyAssessment(user_id=learner.id, competency_code=code, level=level,
                                       required_level=required, assessed_on=dt.date(YEAR, 2, 1),
                                       method="assessment_center"))  # fmt: skip
    with session_scope() as s:
        rows = {r.name: r for r in service.below_target(s, YEAR, settings).items}
    assert rows["Budi Santoso"].gap_count == 1
    assert rows["Budi Santoso"].gap_codes == ["literasi_digital"]
    assert rows["Budi Santoso"].jpm_percent == pytest.approx(500 / 7, abs=0.01)
    assert rows["Budi Santoso"].band == "kurang_optimal"
    assert rows[other.name].gap_count is None and rows[other.name].band is None


# --- API, pages, exports -------------------------------------------------------------------------


async def test_api_contract_and_roles(client: httpx.AsyncClient) -> None:
    seed(users=40)
    make_user(roles=("training_officer",), email="officer@example.go.id", nip=None)
    make_user(roles=("learner",), email="learner@example.go.id")
    officer = await api_token(client, "officer@example.go.id")
    learner = await api_token(client, "learner@example.go.id")
    assert (await client.get("/api/v1/reports/targets")).status_code == 401
    refused = await client.get("/api/v1/reports/targets", headers=learner)
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden_role"
    assert (await client.get("/api/v1/reports/targets/below", headers=learner)).status_code == 403
    response = await client.get(f"/api/v1/reports/targets?year={YEAR}", headers=officer)
    assert response.status_code == 200
    body = response.json()
    contract = {"year", "active_asn", "participation_percent", "participation_target_percent",
                "jp_compliance_percent", "jp_target", "by_opd", "by_funding_source"}  # fmt: skip
    assert contract <= set(body) and body["year"] == YEAR
    assert {"opd_code", "active_asn", "participated", "participation_percent", "jp_compliant",
            "jp_compliance_percent", "opd_name", "jp_total", "average_jp"} <= set(body["by_opd"][0])  # fmt: skip
    assert set(body["by_funding_source"][0]) == {"funding_source", "participants", "jp"}
    expected = independent_counts(YEAR)
    assert body["active_asn"] == expected["active_asn"]
    assert body["jp_compliance_percent"] == pct(expected["jp_compliant"], expected["active_asn"])
    below = await client.get(
        f"/api/v1/reports/targets/below?year={YEAR}&per_page=5&page=2", headers=officer
    )
    assert below.status_code == 200
    assert below.json()["total"] == len(expected["below"]) and len(below.json()["items"]) == 5
    bad = await client.get("/api/v1/reports/targets/below?opd=NOPE", headers=officer)
    assert bad.status_code == 422 and "NOPE" in bad.json()["detail"]


async def test_xlsx_exports_hold_every_table(client: httpx.AsyncClient) -> None:
    seed(users=40)
    make_user(roles=("admin",), email="admin@example.go.id", nip=None)
    headers = await api_token(client, "admin@example.go.id")
    response = await client.get(f"/api/v1/reports/targets?year={YEAR}&format=xlsx", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["Ringkasan", "Per OPD", "Sumber dana", "Sebaran JP", "Tren bulanan"]
    expected = independent_counts(YEAR)
    opd_rows = list(book["Per OPD"].iter_rows(min_row=2, values_only=True))
    assert {r[0] or None: r[2] for r in opd_rows} == {
        k: v["active_asn"] for k, v in expected["by_opd"].items()
    }
    months = list(book["Tren bulanan"].iter_rows(min_row=2, values_only=True))
    assert [m[2] for m in months] == expected["cumulative"]
    below = await client.get(
        f"/api/v1/reports/targets/below?year={YEAR}&format=xlsx", headers=headers
    )
    rows = list(load_workbook(io.BytesIO(below.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("NIP", "Nama", "Status")
    assert len(rows) - 1 == len(expected["below"])
    assert all(isinstance(r[0], str) and len(r[0]) == 18 for r in rows[1:])


async def test_xlsx_export_keeps_a_formula_like_name_as_text(client: httpx.AsyncClient) -> None:
    make_user(name='=HYPERLINK("http://x")', opd_code=None)
    make_user(roles=("training_officer",), email="o@example.go.id", nip=None)
    headers = await api_token(client, "o@example.go.id")
    response = await client.get("/api/v1/reports/targets/below?format=xlsx", headers=headers)
    sheet = load_workbook(io.BytesIO(response.content)).active
    names = [c.value for c in sheet["B"]]
    assert '=HYPERLINK("http://x")' in names
    assert all(c.data_type == "s" for c in sheet["B"])


async def test_dashboard_and_drill_down_pages(client: httpx.AsyncClient) -> None:
    seed(users=40)
    make_user(roles=("training_officer",), email="officer@example.go.id", nip=None)
    await browser_login(client, "officer@example.go.id")
    page = await client.get(f"/studio/targets?year={YEAR}&sort=-partisipasi")
    assert page.status_code == 200
    html = page.text
    assert "Dasbor target pengembangan kompetensi" in html
    for chart in ("chart-opd", "chart-fund", "chart-dist", "chart-trend"):
        assert f'id="{chart}"' in html and f'aria-labelledby="{chart}-t {chart}-d"' in html
    assert 'aria-sort="descending"' in html and "sort=partisipasi" in html
    assert "Tidak diketahui" in html  # credits without a funding source are shown
    expected = independent_counts(YEAR)
    part = charts.number(pct(expected["participated"], expected["active_asn"]))
    comp = charts.number(pct(expected["jp_compliant"], expected["active_asn"]))
    assert f'id="kpi-part">{part} %' in html and f'id="kpi-jp">{comp} %' in html
    assert f"/api/v1/reports/targets?year={YEAR}" in html
    below = await client.get(f"/studio/targets/below?year={YEAR}&opd=A")
    assert below.status_code == 200 and "ASN di bawah target JP" in below.text
    assert '<option value="A" selected>' in below.text
    bad = await client.get("/studio/targets/below?opd=NOPE")
    assert bad.status_code == 422 and "NOPE" in bad.text


async def test_pages_refuse_learners(client: httpx.AsyncClient) -> None:
    make_user(roles=("learner", "mentor"), email="l@example.go.id")
    assert (await client.get("/studio/targets")).status_code == 303  # to the login page
    await browser_login(client, "l@example.go.id")
    assert (await client.get("/studio/targets")).status_code == 403
    assert (await client.get("/studio/targets/below")).status_code == 403


async def test_drill_down_names_gap_competencies_and_links_the_asn(
    client: httpx.AsyncClient,
) -> None:
    learner = make_user(name="Budi Santoso")
    with session_scope() as s:
        s.add(CompetencyAssessment(user_id=learner.id, competency_code="literasi_digital", level=1,
                                   required_level=3, assessed_on=dt.date(YEAR, 2, 1),
                                   method="assessment_center"))  # fmt: skip
    make_user(roles=("training_officer",), email="officer@example.go.id", nip=None)
    await browser_login(client, "officer@example.go.id")
    page = await client.get(f"/studio/targets/below?year={YEAR}")
    assert page.status_code == 200
    assert f'href="/studio/competency/asn/{learner.id}"' in page.text
    assert "Literasi Digital" in page.text and "Kurang optimal" in page.text
    export = await client.get(f"/api/v1/reports/targets/below?year={YEAR}&format=xlsx")
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    budi = next(r for r in rows if r[1] == "Budi Santoso")
    assert budi[8:] == ("Kurang optimal", 1, "Literasi Digital")


async def test_a_kepala_opd_reads_the_list_of_their_own_opd_only(
    client: httpx.AsyncClient,
) -> None:
    """DESIGN.md: an OPD head (role opd_head) reads the participation of their own OPD; the
    monthly digest links here."""
    ids = seed()
    head = make_user(roles=("opd_head", "learner"), email="kadis.b@example.go.id", opd_code="B")
    expected = independent_counts(YEAR)
    with get_engine().connect() as conn:
        opd_of = dict(conn.execute(text("SELECT id, opd_id FROM user_account")).all())
    in_b = {u for u, o in opd_of.items() if o == ids["B"]}
    assert head.id in in_b
    headers = await api_token(client, head.email or "")
    for asked in ("", "A", "-"):  # whatever OPD is asked for, the answer is B's
        answer = await client.get(
            "/api/v1/reports/targets/below",
            params={"year": YEAR, "opd": asked, "per_page": 500},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        got = {r["user_id"] for r in answer.json()["items"]}
        assert got == {u for u in expected["below"] if u in in_b}, asked
    assert (await client.get("/api/v1/reports/targets", headers=headers)).status_code == 403
    await browser_login(client, head.email or "")
    page = await client.get(f"/studio/targets/below?year={YEAR}&opd=A")
    assert page.status_code == 200
    assert 'id="b-opd"' not in page.text and "/studio/competency/asn/" not in page.text
    assert (await client.get("/studio/targets")).status_code == 403
    nav = (await client.get("/")).text
    assert 'href="/studio/targets/below"' in nav

    homeless = make_user(roles=("opd_head",), email="kadis.tanpa.opd@example.go.id")
    other = await api_token(client, homeless.email or "")
    refused = await client.get("/api/v1/reports/targets/below", headers=other)
    assert refused.status_code == 403 and "belum terhubung ke OPD" in refused.json()["detail"]
    learner = make_user(email="biasa@example.go.id")
    plain = await api_token(client, learner.email or "")
    assert (await client.get("/api/v1/reports/targets/below", headers=plain)).status_code == 403
