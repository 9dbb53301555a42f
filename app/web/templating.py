"""Jinja2 environment with gettext, the role navigation and the render helper for pages.

Templates receive plain data only; `render` adds the request's principal, CSRF token and locale.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import Response

from app.accounts.constants import Role
from app.auth import service as auth_service
from app.auth.dependencies import ANON_COOKIE, csrf_binding
from app.auth.service import Principal
from app.core import clock, i18n
from app.core.config import get_settings
from app.core.db import session_scope
from app.notifications import service as notifications
from app.quizzes.questions import category_name
from app.web.static import static_url

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent.parent.parent / "templates"

_env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(default=True),
    extensions=["jinja2.ext.i18n"],
    # Templates change under a running server only in development; elsewhere a compiled
    # template is used as it is, without a stat() of it and of every template it extends,
    # imports or includes on each render.
    auto_reload=get_settings().environment == "development",
)
_env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext_, i18n.ngettext_, newstyle=True
)
_env.globals["static_url"] = static_url
# Stored moments are UTC; pages show them in the institution's zone (settings.timezone).
# Dates and numbers follow the reader's language (app/core/i18n.py, Babel).
_env.filters["local_datetime"] = (
    i18n.local_datetime
)  # "06-12-2026 14:05", "6 Dec 2026, 14:05" + zone
_env.filters["local_date"] = i18n.local_date  # a moment's local date, "06-12-2026", "6 Dec 2026"
_env.filters["number"] = i18n.format_number  # "10.000" / "10,000"; "2,5" / "2.5"
_env.filters["translate_default"] = i18n.translate_default  # shipped defaults stored as data
_env.filters["category_name"] = category_name  # "$course$/Literasi Digital/Tes awal" -> "Tes awal"
_env.globals["tz_label"] = clock.tz_label  # clock.INDONESIAN_ZONE_LABELS, else the abbreviation
_env.globals["utc_offset"] = clock.utc_offset  # "UTC+7"
_env.globals["institution_tz"] = clock.institution_tz  # .key: the IANA name, for scripts


def upload_mode() -> str:
    """ "s3" when the browser can upload straight to the object store, else "disk"."""
    from app.storage.service import get_storage

    return "s3" if get_storage(get_settings()).supports_presigned_upload else "disk"


_env.globals["upload_mode"] = upload_mode
_env.policies["ext.i18n.trimmed"] = True
templates = Jinja2Templates(env=_env)


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    label: str


@dataclass(frozen=True, slots=True)
class NavGroup:
    """A submenu ("Kelola") on a desktop; on a phone its items are listed under its label."""

    key: str
    label: str
    items: tuple[NavItem, ...]


NavEntry = NavItem | NavGroup
GROUP_THRESHOLD = 3  # this many management items or more go into the "Kelola" submenu


def navigation(principal: Principal | None) -> list[NavEntry]:
    """Menu entries for the roles the user holds: every ASN's own pages, then what the
    roles manage (grouped under "Kelola" when there are several)."""
    _ = i18n.gettext_
    if principal is None:
        return []
    items: list[NavEntry] = [
        NavItem("/", _("Beranda")),
        NavItem("/courses", _("Katalog")),
        NavItem("/my/courses", _("Kursus saya")),
        NavItem("/me/calendar", _("Kalender")),
        NavItem("/sertifikat", _("Sertifikat saya")),
        NavItem("/my/kompetensi", _("Kompetensi saya")),
        NavItem("/my/jp", _("Riwayat JP")),
        NavItem("/my/external-trainings", _("Pelatihan eksternal")),
        NavItem("/mentoring/saya", _("Mentoring saya")),
    ]
    if principal.has_any(Role.MENTOR):
        items.append(NavItem("/mentoring/mentees", _("Mentee saya")))
    manage: list[NavItem] = []
    if principal.has_any(Role.CONTENT_ADMIN, Role.TRAINING_OFFICER, Role.ADMIN):
        manage.append(NavItem("/studio", _("Studio")))
    if principal.has_any(Role.CONTENT_ADMIN, Role.ADMIN):
        manage.append(NavItem("/rubrics", _("Rubrik penilaian")))
    if principal.has_any(Role.TRAINING_OFFICER, Role.ADMIN):
        manage += [
            NavItem("/studio/certificates", _("Kelola sertifikat")),
            NavItem("/studio/external-trainings", _("Verifikasi pelatihan eksternal")),
            NavItem("/studio/mentoring", _("Verifikasi mentoring")),
            NavItem("/studio/competency", _("Pengembangan kompetensi")),
            NavItem("/studio/targets", _("Dasbor target")),
            NavItem("/studio/activation", _("Aktivasi akun")),
            NavItem("/studio/notifications", _("Notifikasi & jadwal")),
            NavItem("/studio/siasn", _("Sinkronisasi SIASN")),
            NavItem("/studio/integrations/xapi", _("Catatan belajar (xAPI)")),
        ]
    elif principal.has_any(Role.OPD_HEAD):
        manage.append(NavItem("/studio/targets/below", _("JP pegawai OPD")))
    if principal.has_any(Role.TRAINING_OFFICER, Role.ADMIN, Role.SIGNING_OFFICIAL):
        manage.append(NavItem("/studio/tte", _("Tanda tangan BSrE")))
    if principal.has_any(Role.ADMIN):
        manage += [NavItem("/admin/users", _("Pengguna")), NavItem("/admin/opds", _("OPD")),
                   NavItem("/studio/audit", _("Log audit"))]  # fmt: skip
    if len(manage) >= GROUP_THRESHOLD:
        items.append(NavGroup("kelola", _("Kelola"), tuple(manage)))
    else:
        items += manage
    return items


def nav_links(entries: list[NavEntry]) -> list[NavItem]:
    """Every link of the menu, groups flattened."""
    out: list[NavItem] = []
    for entry in entries:
        out += entry.items if isinstance(entry, NavGroup) else [entry]
    return out


def current_href(entries: list[NavEntry], path: str) -> str | None:
    """The menu link the page belongs to: its own address, else the longest one it lies under
    ("/studio/certificates/7" belongs to "/studio/certificates", not to "/studio"); "/" only
    for the home page itself."""
    best: str | None = None
    for item in nav_links(entries):
        href = item.href
        if path == href:
            return href
        under = href != "/" and path.startswith(href.rstrip("/") + "/")
        if under and (best is None or len(href) > len(best)):
            best = href
    return best


def unread_count(request: Request, principal: Principal) -> int | None:
    """The bell's number: one COUNT with the request's session (or a short one of its own when
    the page has none); None when the database cannot say, so the page still renders."""
    try:
        db = getattr(request.state, "db", None)
        if db is not None:
            return notifications.unread_count(db, principal.user_id)
        with session_scope() as session:
            return notifications.unread_count(session, principal.user_id)
    except Exception:  # the bell must never break a page (nor the error page)
        log.warning("unread count for the bell failed", exc_info=True)
        return None


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> Response:
    """Render a page (or its partial for htmx) with the shell's common context."""
    settings = get_settings()
    principal: Principal | None = getattr(request.state, "principal", None)
    # htmx restoring history asks for the whole page (with the header) although it is htmx
    is_htmx = request.headers.get("hx-request") == "true" and not request.headers.get(
        "hx-history-restore-request"
    )
    new_anon = None
    binding = csrf_binding(request)
    if binding is None:
        new_anon = secrets.token_urlsafe(24)
        request.state.anon_id = new_anon
        binding = new_anon
    nav = navigation(principal)
    data = {
        "principal": principal,
        "nav": nav,
        "nav_current": current_href(nav, request.url.path),
        "csrf_token": auth_service.masked_csrf_token(binding, settings),
        "locale": i18n.current_locale.get(),
        "institution_name": settings.institution_name,
        "is_htmx": is_htmx,
        # The header's bell (a page that knows the number passes it); htmx partials have no
        # header, so they skip the query.
        "unread_count": unread_count(request, principal)
        if principal and not is_htmx and "unread_count" not in (context or {})
        else None,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, data, status_code=status_code)
    if new_anon is not None:
        response.set_cookie(
            ANON_COOKIE,
            new_anon,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
            max_age=7 * 24 * 3600,
        )
    return response
