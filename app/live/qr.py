"""The rotating attendance QR: a token signed with the app secret naming the session, the run and
the time step (a new one every step, accepted for `accept` seconds from its step's start), and
its rendering as a scalable SVG (projector) or a PNG."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import re
from dataclasses import dataclass

import segno

# "<activity>-<run>-<step>-<signature>": short, so the QR stays coarse enough for a hall.
_TOKEN = re.compile(r"^(\d{1,12})-(\d{1,12})-(\d{1,12})-([A-Za-z0-9_-]{22})$")
# A token from a step that has not begun by this much (another worker's clock) is refused.
CLOCK_SKEW_SECONDS = 5


@dataclass(frozen=True, slots=True)
class QrToken:
    activity_id: int
    run_id: int
    step: int


def _signature(secret: str, activity_id: int, run_id: int, step: int) -> str:
    message = f"live-qr:{activity_id}:{run_id}:{step}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def step_of(now: dt.datetime, step_seconds: int) -> int:
    return int(now.timestamp()) // step_seconds


def make_token(
    secret: str, activity_id: int, run_id: int, now: dt.datetime, step_seconds: int
) -> tuple[str, int]:
    """The token shown during the current step, and the step's number."""
    number = step_of(now, step_seconds)
    token = f"{activity_id}-{run_id}-{number}-{_signature(secret, activity_id, run_id, number)}"
    return token, number


def step_start(token_step: int, step_seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(token_step * step_seconds, dt.UTC)


def expires_at(token_step: int, step_seconds: int, accept_seconds: int) -> dt.datetime:
    """A token is accepted for `accept_seconds` from the start of its step (so one scanned from
    the screen has at least accept - step seconds left; a photo sent away dies within a minute)."""
    return step_start(token_step, step_seconds) + dt.timedelta(seconds=accept_seconds)


def parse(secret: str, token: str) -> QrToken | None:
    """The token's session, run and step when its signature is ours; None for anything else."""
    found = _TOKEN.match(token or "")
    if found is None:
        return None
    activity_id, run_id, step = (int(found.group(i)) for i in (1, 2, 3))
    expected = _signature(secret, activity_id, run_id, step)
    if not hmac.compare_digest(expected, found.group(4)):
        return None
    return QrToken(activity_id, run_id, step)


def is_current(token: QrToken, now: dt.datetime, step_seconds: int, accept_seconds: int) -> bool:
    """Accepted from its step's start (less a little clock skew) until it expires."""
    begins = step_start(token.step, step_seconds) - dt.timedelta(seconds=CLOCK_SKEW_SECONDS)
    return begins <= now < expires_at(token.step, step_seconds, accept_seconds)


def _code(url: str) -> segno.QRCode:
    # Level M and a fixed mask: quick to make every 30 s, readable from the back of a hall.
    return segno.make(url, error="m", micro=False, mask=4, boost_error=False)


def svg(url: str) -> str:
    """An SVG that scales to its box (viewBox only, no fixed size), black on white."""
    out = io.BytesIO()
    _code(url).save(
        out, kind="svg", xmldecl=False, svgns=True, omitsize=True, border=4, dark="#000",
        light="#fff", svgclass="qr-code", title="QR presensi",
    )  # fmt: skip
    return out.getvalue().decode()


def png(url: str, scale: int = 10) -> bytes:
    out = io.BytesIO()
    _code(url).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
