"""HTML pages of BSrE signing: the officer prepares a batch, the signing official confirms it with
NIK and passphrase, everyone watches the progress bar and the result. Rules are the service's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.core.config import Settings
from app.core.errors import LMSError
from app.core.i18n import gettext_ as _
from app.tte import repository, service, tasks
from app.tte.client import Credentials
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(prefix="/studio/tte", tags=["pages"], include_in_schema=False)

Preparer = Annotated[Principal, Depends(require_roles(*service.PREPARERS))]
Official = Annotated[Principal, Depends(require_roles(service.SIGNING_OFFICIAL))]
Viewer = Annotated[Principal, Depends(require_roles(*service.VIEWERS))]
RUNNING = frozenset({"running"})
SIGNABLE = frozenset({"prepared", "failed"})


def state_labels() -> dict[str, str]:
    return {
        "prepared": _("Menunggu tanda tangan"),
        "running": _("Sedang ditandatangani"),
        "done": _("Selesai"),
        "failed": _("Berhenti"),
    }


def item_labels() -> dict[str, str]:
    return {
        "pending": _("Menunggu"),
        "signed": _("Ditandatangani"),
        "failed": _("Gagal"),
        "skipped": _("Dilewati"),
    }


@router.get("")
def batches_page(request: Request, db: SessionDep, settings: SettingsDep,
                 principal: Viewer) -> Response:  # fmt: skip
    """Batches (newest first) and, for officers, the form to prepare one for a run."""
    batches = service.list_batches(db, settings)
    runs = repository.runs_with_signable(db) if principal.has_any(*service.PREPARERS) else []
    labels = repository.run_labels(db, [r for r, _n in runs] + [b.run_id for b in batches
                                                                if b.run_id])  # fmt: skip
    return render(request, "tte/batches.html", {
        "batches": batches, "runs": runs, "run_labels": labels,
        "state_labels": state_labels(), "configured": bool(settings.bsre_url),
        "can_prepare": principal.has_any(*service.PREPARERS),
    })  # fmt: skip


@router.post("/batches")
def prepare_page(request: Request, db: SessionDep, principal: Preparer,
                 run_id: Annotated[RowId, Form()]) -> Response:  # fmt: skip
    batch = service.prepare(db, run_id=run_id, certificate_ids=None, by=principal.user_id)
    return RedirectResponse(f"/studio/tte/batches/{batch.id}", status_code=303)


def _context(db: Session, batch_id: int, settings: Settings, principal: Principal) -> dict[str, Any]:
    batch = service.get_batch(db, batch_id, settings)
    read = service.batch_read(db, batch)
    done = read.signed_count + read.failed_count + read.skipped_count
    return {
        "batch": read,
        "run_label": repository.run_labels(db, [batch.run_id]).get(batch.run_id or 0)
        if batch.run_id else None,
        "done": done,
        "percent": round(100 * done / read.total) if read.total else 100,
        "running": read.state in RUNNING,
        "can_sign": principal.has_any(service.SIGNING_OFFICIAL) and read.state in SIGNABLE
        and read.pending_count > 0,
        "configured": bool(settings.bsre_url),
        "state_labels": state_labels(),
        "item_labels": item_labels(),
    }  # fmt: skip


@router.get("/batches/{batch_id}")
def batch_page(request: Request, batch_id: RowId, db: SessionDep, settings: SettingsDep,
               principal: Viewer) -> Response:  # fmt: skip
    """The batch: the official's confirmation form (NIK, passphrase), progress and results."""
    return render(request, "tte/batch.html", _context(db, batch_id, settings, principal))


@router.get("/batches/{batch_id}/progress")
def progress_fragment(request: Request, batch_id: RowId, db: SessionDep, settings: SettingsDep,
                      principal: Viewer) -> Response:  # fmt: skip
    return render(request, "tte/_progress.html", _context(db, batch_id, settings, principal))


@router.post("/batches/{batch_id}/sign")
def sign_page(
    request: Request,
    batch_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: Official,
    nik: Annotated[str, Form()] = "",
    passphrase: Annotated[str, Form()] = "",
) -> Response:
    """Sign with the NIK and passphrase just entered (never stored, never shown again)."""
    nik = nik.strip()
    error: str | None = None
    if len(nik) != 16 or not nik.isdigit():
        error = _("NIK harus 16 angka.")
    elif not passphrase:
        error = _("Masukkan passphrase TTE Anda.")
    else:
        try:
            tasks.start(batch_id, Credentials(nik, passphrase), principal.user_id, settings)
        except LMSError as exc:
            error = exc.detail
    passphrase = ""
    if error is None:
        return RedirectResponse(f"/studio/tte/batches/{batch_id}", status_code=303)
    db.expire_all()
    context = _context(db, batch_id, settings, principal)
    context.update({"sign_error": error, "nik": nik})
    return render(request, "tte/batch.html", context, status_code=422)
