"""iCalendar (RFC 5545) files: one session's .ics and a user's feed of sessions and deadlines,
in the institution's time zone (TZID with a VTIMEZONE), readable by Google Calendar and Outlook."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import icalendar

from app.core import clock


@dataclass(frozen=True, slots=True)
class Event:
    """One calendar entry; `uid` stays the same for the same thing across downloads."""

    uid: str
    summary: str
    starts_at: dt.datetime  # aware
    ends_at: dt.datetime | None  # aware; None: a moment (a deadline), no DTEND
    description: str | None = None
    location: str | None = None
    url: str | None = None


def build(events: Sequence[Event], *, name: str, now: dt.datetime) -> bytes:
    """A VCALENDAR with the events' local times (TZID of the institution) and its VTIMEZONE."""
    zone = clock.institution_tz()
    cal = icalendar.Calendar()
    cal.add("prodid", "-//LMS Diklat ASN//live sessions//ID")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", str(zone))
    stamp = now.astimezone(dt.UTC).replace(microsecond=0)
    for item in events:
        event = icalendar.Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("summary", item.summary)
        event.add("dtstart", item.starts_at.astimezone(zone).replace(microsecond=0))
        if item.ends_at is not None:
            event.add("dtend", item.ends_at.astimezone(zone).replace(microsecond=0))
        if item.location:
            event.add("location", item.location)
        if item.url:
            event.add("url", item.url)
        if item.description:
            event.add("description", item.description)
        cal.add_component(event)
    if events:
        first = min(e.starts_at for e in events).date() - dt.timedelta(days=1)
        last = max(e.ends_at or e.starts_at for e in events).date() + dt.timedelta(days=1)
        cal.add_missing_timezones(first_date=first, last_date=last)
    return bytes(cal.to_ical())
