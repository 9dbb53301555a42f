"""Gap rules: the required level's resolution order, the latest assessment counting, JPM and
bands, and `gap_summaries` batched for many users."""

from __future__ import annotations

import datetime as dt

from app.competency import service
from app.core.db import session_scope
from tests.competency.helpers import asn, assess, standard
from tests.queries import count_queries


def test_jpm_and_band_rules(settings) -> None:  # type: ignore[no-untyped-def]
    assert service.jpm_percent([]) is None
    assert service.jpm_percent([(3, 3), (2, 4)]) == round(5 / 7 * 100, 2)
    assert service.jpm_percent([(5, 3), (3, 3)]) == 100.0  # exceeding counts as meeting
    assert service.jpm_band(90, settings) == "optimal"
    assert service.jpm_band(89.99, settings) == "cukup_optimal"
    assert service.jpm_band(78, settings) == "cukup_optimal"
    assert service.jpm_band(77.9, settings) == "kurang_optimal"
    assert service.jpm_band(None, settings) is None
    assert service.gap_of(2, 4) == 2 and service.gap_of(5, 3) == 0 and service.gap_of(2, None) == 0


def test_required_level_resolution_order(settings) -> None:  # type: ignore[no-untyped-def]
    """Exact jabatan > jenis jabatan > "*" > the assessment row's own standard."""
    exact = asn(name="Exact", jabatan="Pranata Komputer Ahli Pertama")
    by_type = asn(name="Type", jabatan="Analis Data", jenis_jabatan="fungsional")
    everyone = asn(name="Star", jabatan="Pengadministrasi Umum", jenis_jabatan="pelaksana")
    own = asn(name="Own", jabatan="Pengadministrasi Umum", jenis_jabatan="pelaksana")
    standard("Pranata  Komputer Ahli Pertama", "literasi_digital", 4)
    standard("fungsional", "literasi_digital", 3)
    standard("*", "literasi_digital", 2)
    standard("*", "integritas", 3)
    for user in (exact, by_type, everyone):
        assess(user.id, "literasi_digital", 1)
    assess(own.id, "spbe", 2, required=4)  # no job standard for spbe: the file's own applies
    assess(own.id, "komunikasi", 2)  # neither: not counted in JPM
    with session_scope() as session:
        result = service.gap_summaries(
            session, [exact.id, by_type.id, everyone.id, own.id, 999999], settings
        )
    assert result[exact.id].jpm_percent == 25.0
    assert result[by_type.id].jpm_percent == round(1 / 3 * 100, 2)
    assert result[everyone.id].jpm_percent == 50.0
    assert result[own.id].jpm_percent == 50.0 and result[own.id].gap_codes == ["spbe"]
    assert result[999999] == service.GapSummary(None, None, 0, [])
    assert result[exact.id].band == "kurang_optimal"


def test_latest_assessment_counts(settings) -> None:  # type: ignore[no-untyped-def]
    user = asn()
    standard("*", "integritas", 3)
    standard("*", "kerja_sama", 3)
    assess(user.id, "integritas", 1, on=dt.date(2024, 5, 1))
    assess(user.id, "integritas", 3, on=dt.date(2026, 2, 1))
    assess(user.id, "kerja_sama", 2, on=dt.date(2026, 2, 1))
    with session_scope() as session:
        summary = service.gap_summaries(session, [user.id], settings)[user.id]
    assert summary.gap_codes == ["kerja_sama"] and summary.gap_count == 1
    assert summary.jpm_percent == round(5 / 6 * 100, 2)
    assert summary.band == "cukup_optimal"


def test_inactive_competency_is_ignored(settings) -> None:  # type: ignore[no-untyped-def]
    user = asn()
    standard("*", "spbe", 3)
    assess(user.id, "spbe", 1)
    with session_scope() as session:
        service.get_competency(session, "spbe").is_active = False
    with session_scope() as session:
        assert service.gap_summaries(session, [user.id], settings)[user.id].jpm_percent is None


def test_gap_summaries_is_batched(settings) -> None:  # type: ignore[no-untyped-def]
    standard("*", "integritas", 3)
    users = [asn(name=f"ASN {i}") for i in range(12)]
    for i, user in enumerate(users):
        assess(user.id, "integritas", 1 + i % 4)
    with session_scope() as session, count_queries() as statements:
        result = service.gap_summaries(session, [u.id for u in users], settings)
    assert len(statements) == 1
    assert sum(1 for s in result.values() if s.gap_count) == 6  # levels 1 and 2 of 1..4


def test_competency_names() -> None:
    with session_scope() as session:
        names = service.competency_names(session)
    assert names["integritas"] == "Integritas" and len(names) == 12
