"""Officer pages for reaching new ASN: choose a roster selection (OPD, import batch, NIPs), see
how it can be reached (e-mail, WhatsApp, neither), send activation, and follow the printed
letters' job to one PDF per OPD."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from app.accounts import activation, letters, service
from app.accounts.schemas import ActivationRequest
from app.auth.dependencies import SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.core.errors import LMSError
from app.core.i18n import gettext_ as _
from app.core.numbers import row_id
from app.notifications import service as notifications_service
from app.notifications.constants import EMAIL, WHATSAPP
from app.storage import get_storage
from app.web.delivery import serve_object
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(prefix="/studio/activation", tags=["pages"], include_in_schema=False)

Officer = Annotated[Principal, Depends(require_roles("training_officer", "admin"))]


def channel_labels() -> dict[str, str]:
    return {
        "auto": _("Otomatis: email bila ada, lalu WhatsApp, lalu surat"),
        "email": _("Email saja"),
        "whatsapp": _("WhatsApp saja"),
        "letter": _("Surat aktivasi tercetak (PDF per OPD)"),
    }


def _page(
    request: Request, db: SessionDep, settings: SettingsDep, *, values: dict[str, Any],
    preview: activation.Preview | None = None, result: Any = None, error: str | None = None,
    field_errors: dict[str, str] | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    return render(
        request,
        "studio/activation.html",
        {
            "values": values, "preview": preview, "result": result, "error": error,
            "field_errors": field_errors or {}, "opds": service.list_opds(db),
            "imports": activation.recent_imports(db), "channels": channel_labels(),
            "email_ready": notifications_service.channel_configured(EMAIL, settings),
            "whatsapp_ready": notifications_service.channel_configured(WHATSAPP, settings),
        },
        status_code=status_code,
    )  # fmt: skip


@router.get("")
def activation_page(
    request: Request, db: SessionDep, settings: SettingsDep, _officer: Officer,
    import_id: RowId | None = None, opd: str | None = None, nip: str | None = None,
) -> Response:  # fmt: skip
    """The selection form; `import_id`, `opd` or `nip` preselect (links from other pages)."""
    values = {"import_id": import_id, "opd_code": opd or "", "channel": "auto",
              "nips": (nip or "")[:32]}  # fmt: skip
    return _page(request, db, settings, values=values)


@router.post("")
def activation_send(
    request: Request, db: SessionDep, settings: SettingsDep, officer: Officer,
    opd_code: Annotated[str, Form(max_length=32)] = "",
    import_id: Annotated[str, Form(max_length=12)] = "",
    nips: Annotated[str, Form(max_length=400_000)] = "",
    channel: Annotated[str, Form(max_length=16)] = "auto",
    resend: Annotated[str, Form(max_length=8)] = "",
    action: Annotated[str, Form(max_length=16)] = "send",
) -> Response:  # fmt: skip
    """`action=preview` shows the numbers; `send` queues the messages and the letter job."""
    values = {"opd_code": opd_code, "import_id": row_id(import_id),
              "nips": nips, "channel": channel, "resend": bool(resend)}  # fmt: skip
    try:
        data = ActivationRequest(
            opd_code=opd_code or None, import_id=values["import_id"],
            nips=activation.parse_nip_list(nips) or None, channel=channel,
            resend=bool(resend),
        )  # fmt: skip
        if action == "preview":
            return _page(request, db, settings, values=values,
                         preview=activation.preview(db, data, settings=settings))  # fmt: skip
        result = activation.send(db, data, by=officer.user_id, settings=settings)
    except ValidationError:
        db.rollback()
        return _page(request, db, settings, values=values,
                     field_errors={"channel": _("Pilih saluran pengiriman.")},
                     error=_("Periksa kembali isian yang ditandai."), status_code=422)  # fmt: skip
    except LMSError as exc:
        db.rollback()
        field = getattr(exc, "field", None)
        return _page(request, db, settings, values=values, error=exc.detail,
                     field_errors={field: exc.detail} if field else {},
                     status_code=exc.status_code)  # fmt: skip
    people = service.profiles(db, [s.user_id for s in result.skipped if s.user_id is not None])
    return _page(request, db, settings, values=values, result={"data": result, "people": people})


# --- printed letters ----------------------------------------------------------------------------


def _job_context(db: SessionDep, job_id: str) -> dict[str, Any]:
    return {"job": letters.job_view(db, job_id), "state_labels": letters.state_labels()}


@router.get("/letters/{job_id}")
def letters_page(request: Request, job_id: str, db: SessionDep, _officer: Officer) -> Response:
    """The letters' progress (htmx polls the fragment; without JS the page refreshes) and one
    download per OPD."""
    return render(request, "studio/activation_letters.html", _job_context(db, job_id))


@router.get("/letters/{job_id}/progress")
def letters_progress(request: Request, job_id: str, db: SessionDep, _officer: Officer) -> Response:
    return render(request, "studio/activation_letters_progress.html", _job_context(db, job_id))


@router.post("/letters/{job_id}/retry")
def letters_retry(job_id: str, db: SessionDep, _officer: Officer) -> Response:
    """Run a failed job again (CSRF: the Officer dependency checks the session's token)."""
    letters.retry_job(db, job_id)
    return RedirectResponse(f"/studio/activation/letters/{job_id}", status_code=303)


@router.get("/letters/{job_id}/files/{file_id}")
def letters_download(
    request: Request, job_id: str, file_id: RowId, db: SessionDep, settings: SettingsDep,
    _officer: Officer,
) -> Response:  # fmt: skip
    key, name = letters.letter_file(db, job_id, file_id)
    return serve_object(
        request, get_storage(settings), key=key, filename=name,
        content_type=letters.PDF_CONTENT_TYPE, inline=False,
        cache_control="private, no-store",  # the letters carry one-time codes
    )  # fmt: skip
