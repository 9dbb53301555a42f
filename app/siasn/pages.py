"""The officer's SIASN page: counts per state, the list with filters and SIASN's message per
failure, retry one or all, skip with a reason, and the reconciliation view for one ASN. HTML
only; the rules are app.siasn.service's."""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from app.accounts import service as accounts_service
from app.accounts.constants import Role
from app.auth.dependencies import SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import gettext_ as _
from app.core.numbers import row_id
from app.siasn import constants as c
from app.siasn import service
from app.siasn.client import SiasnError, configured
from app.web.routing import Router
from app.web.templating import render

router = Router(tags=["pages"], include_in_schema=False)

Officer = Annotated[Principal, Depends(require_roles(Role.TRAINING_OFFICER, Role.ADMIN))]
FormText = Annotated[str | None, Form()]
PER_PAGE = 50
MAX_PAGE = 100_000


def state_labels() -> dict[str, str]:
    return {
        c.PENDING: _("Menunggu"), c.PUSHED: _("Terkirim"), c.FAILED: _("Gagal"),
        c.SKIPPED: _("Dilewati"),
    }  # fmt: skip


def source_labels() -> dict[str, str]:
    return {
        "certificate": _("Sertifikat"), "mentoring": _("Mentoring"),
        "external_training": _("Pelatihan eksternal"),
    }  # fmt: skip


def _notice(notice: str | None, n: int) -> str | None:
    return {
        "retried": _("%(n)s catatan dijadwalkan untuk dikirim ulang.") % {"n": n},
        "skipped": _("Catatan tidak akan dikirim ke SIASN."),
    }.get(notice or "")


@router.get("/studio/siasn")
def siasn_page(
    request: Request, db: SessionDep, settings: SettingsDep, _officer: Officer,
    state: str = "", source: str = "", page: int = 1, notice: str | None = None, n: int = 0,
) -> Response:  # fmt: skip
    """Every record with its state; SIASN's own message on failures; retry and skip."""
    state = state if state in c.STATES else ""
    source = source if source in c.SOURCES else ""
    page = min(max(page, 1), MAX_PAGE)
    total, rows = service.listing(db, state=state or None, source=source or None, page=page,
                                  per_page=PER_PAGE)  # fmt: skip
    people = accounts_service.profiles(db, sorted({r.user_id for r in rows}))
    items = [
        {"row": r, "name": people[r.user_id].name if r.user_id in people else "—",
         "nip": people[r.user_id].nip if r.user_id in people else None}
        for r in rows
    ]  # fmt: skip
    filters = {"state": state, "source": source}
    return render(
        request,
        "siasn/records.html",
        {
            "items": items,
            "total": total,
            "counts": service.counts(db),
            "enabled": configured(settings),
            "filters": filters,
            "query": urlencode({k: v for k, v in filters.items() if v}),
            "page": page,
            "pages": max(1, math.ceil(total / PER_PAGE)),
            "state_labels": state_labels(),
            "source_labels": source_labels(),
            "notice": _notice(notice, n),
        },
    )


def _form_id(raw: str | None) -> int:
    record_id = row_id((raw or "").strip())
    if record_id is None:
        raise ValidationFailed(_("Catatan yang dipilih tidak sah."), field="id")
    return record_id


@router.post("/studio/siasn/retry")
def retry_page(db: SessionDep, _officer: Officer, id: FormText = None,
               all_failed: FormText = None) -> Response:  # fmt: skip
    """ "Kirim ulang" for one record, or every failed one."""
    if all_failed:
        n = service.retry_all(db)
    else:
        service.retry(db, _form_id(id))
        n = 1
    query = urlencode({"state": "pending", "notice": "retried", "n": n})
    return RedirectResponse(f"/studio/siasn?{query}", status_code=303)


@router.post("/studio/siasn/skip")
def skip_page(db: SessionDep, _officer: Officer, id: FormText = None,
              reason: FormText = None) -> Response:  # fmt: skip
    """ "Lewati" with a reason: the record is not pushed."""
    service.skip(db, _form_id(id), reason or "")
    return RedirectResponse("/studio/siasn?state=skipped&notice=skipped", status_code=303)


@router.get("/studio/siasn/reconcile")
def reconcile_page(
    request: Request, db: SessionDep, settings: SettingsDep, _officer: Officer, nip: str = ""
) -> Response:
    """One ASN: our records and SIASN's rw-kursus/rw-diklat side by side."""
    nip = "".join(nip.split())[:18]
    view, error = None, None
    if nip:
        if not nip.isdigit() or len(nip) != 18:
            error = _("NIP terdiri atas 18 angka.")
        elif not configured(settings):
            error = _("Koneksi SIASN belum diatur.")
        else:
            try:
                view = service.reconcile(db, nip, settings)
            except SiasnError as exc:
                error = _("SIASN tidak dapat dibaca: %(m)s") % {"m": exc.message}
            except NotFound as exc:
                error = exc.detail
    return render(
        request,
        "siasn/reconcile.html",
        {
            "nip": nip,
            "view": view,
            "error": error,
            "state_labels": state_labels(),
            "source_labels": source_labels(),
        },
    )
