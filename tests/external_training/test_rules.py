"""The small rules of external training, without a database."""

from __future__ import annotations

import datetime as dt

from app.core.config import Settings
from app.external_training import service
from app.external_training.constants import FUNDING_SOURCES, MODES, SIASN_JENIS_DIKLAT


def test_certificate_key_ignores_case_and_spaces() -> None:
    assert service.certificate_key(" 800/123 /bpsdm\t2025 ") == "800/123/BPSDM2025"
    assert service.certificate_key("abc") == service.certificate_key("A B C")


def test_jp_must_be_positive_and_within_the_configured_cap() -> None:
    settings = Settings(external_training_max_jp=40)
    assert service.jp_within_cap(40, settings) and service.jp_within_cap(0.5, settings)
    assert not service.jp_within_cap(0, settings)
    assert not service.jp_within_cap(40.5, settings)


def test_dates_must_be_ordered_and_not_in_the_future() -> None:
    today = dt.date(2026, 6, 1)
    assert service.date_problem(dt.date(2026, 5, 1), dt.date(2026, 5, 3), today) is None
    assert service.date_problem(today, today, today) is None
    assert service.date_problem(dt.date(2026, 5, 3), dt.date(2026, 5, 1), today) == "order"
    assert service.date_problem(today, dt.date(2026, 6, 2), today) == "future"


def test_vocabularies_have_labels_and_siasn_ids() -> None:
    assert FUNDING_SOURCES == ("apbd_kabupaten", "apbd_provinsi", "apbn", "non_anggaran")
    assert set(service.mode_labels()) == set(MODES) == set(SIASN_JENIS_DIKLAT)
    assert {m: SIASN_JENIS_DIKLAT[m] for m in ("coaching", "mentoring", "e_learning",
                                                "jarak_jauh")} == {
        "coaching": 14, "mentoring": 15, "e_learning": 16, "jarak_jauh": 17}  # fmt: skip
