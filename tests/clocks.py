"""Freezing the institution's clock in tests: `clock.now_local` answers a fixed moment, so
`clock.today()` (and every domain's `today()`) is that moment's date in the configured zone."""

from __future__ import annotations

import datetime as dt

import pytest

from app.core import clock


def freeze_clock(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> None:
    """From now on the institution's "now" is `moment` (aware), in whatever zone is set."""
    monkeypatch.setattr(clock, "now_local", lambda: moment.astimezone(clock.institution_tz()))
