"""The JP ledger: credits per source, withdrawal, move on re-issue, yearly totals with the PPPK
cap and the minutes-to-JP rounding rule; GET /api/v1/me/jp."""

from __future__ import annotations

import datetime as dt

import pytest

from app.core import clock
from app.core.config import Settings
from app.core.db import session_scope
from app.jp import service
from tests.factories import api_token, make_user


@pytest.mark.parametrize(
    ("rounding", "minutes", "jp"),
    [("floor", 89, 1.0), ("floor", 90, 2.0), ("half_up", 67, 1.0), ("half_up", 68, 2.0),
     ("none", 60, 1.33)],
)  # fmt: skip
def test_minutes_to_jp_follows_the_rounding_rule(rounding: str, minutes: int, jp: float) -> None:
    settings = Settings(jp_rounding=rounding)  # type: ignore[arg-type]
    assert service.minutes_to_jp(minutes, settings) == jp


def test_pppk_total_is_capped_pns_is_not() -> None:
    settings = Settings(pppk_annual_jp_cap=24)
    assert service.year_total([20, 10], employment="PPPK", settings=settings) == 24
    assert service.year_total([20, 10], employment="PNS", settings=settings) == 30


def test_credit_withdraw_and_move(settings) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    year = clock.today().year
    with session_scope() as session:
        for source_id, jp in ((1, 10.0), (2, 6.0)):
            service.credit(
                session, user_id=user.id, year=year, source="certificate", source_id=source_id,
                jp=jp, credited_on=clock.today(), reference=f"000{source_id}/X",
            )  # fmt: skip
    with session_scope() as session:
        assert service.summary(session, user.id, year, settings).total_jp == 16
        service.withdraw(session, source="certificate", source_id=2, reason="dicabut")
    with session_scope() as session:
        result = service.summary(session, user.id, year, settings)
        assert result.total_jp == 10
        assert [e.reference for e in result.entries] == ["0001/X"]
        service.move(session, source="certificate", old_id=1, new_id=3, reference="0009/X")
    with session_scope() as session:
        result = service.summary(session, user.id, year, settings)
        assert result.total_jp == 10
        assert [e.reference for e in result.entries] == ["0009/X"]
        assert result.target_jp == settings.annual_jp_target


async def test_me_jp_api(client) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    year = clock.today().year
    with session_scope() as session:
        service.credit(
            session, user_id=user.id, year=year, source="certificate", source_id=7, jp=12,
            credited_on=clock.today(), reference="0007/LIT/BKPSDM/I/2026",
        )  # fmt: skip
        service.credit(
            session, user_id=user.id, year=year - 1, source="certificate", source_id=8, jp=5,
            credited_on=dt.date(year - 1, 5, 1), reference="old",
        )  # fmt: skip
    headers = await api_token(client, user.email)
    body = (await client.get("/api/v1/me/jp", headers=headers)).json()
    assert body["year"] == year and body["total_jp"] == 12 and body["target_jp"] == 20
    assert body["entries"] == [
        {"source": "certificate", "jp": 12.0, "date": clock.today().isoformat(),
         "reference": "0007/LIT/BKPSDM/I/2026"}
    ]  # fmt: skip
    last = (await client.get(f"/api/v1/me/jp?year={year - 1}", headers=headers)).json()
    assert last["total_jp"] == 5
    assert (await client.get("/api/v1/me/jp")).status_code == 401
