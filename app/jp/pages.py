"""HTML page of the JP ledger: the learner's "Riwayat JP saya", a year's credits grouped by
source with subtotals and the total against the annual target."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep
from app.certificates import service as certificates_service
from app.core.i18n import gettext_ as _
from app.courses import service as courses_service
from app.courses.constants import funding_labels
from app.external_training import service as external_training_service
from app.jp import service
from app.web.routing import Router
from app.web.templating import render

router = Router(include_in_schema=False)


def source_labels() -> dict[str, str]:
    return {
        service.CERTIFICATE: _("Diklat di LMS (sertifikat)"),
        service.EXTERNAL_TRAINING: _("Pelatihan eksternal terverifikasi"),
        service.MENTORING: _("Mentoring / induksi"),
    }


def entry_titles(session: Session, history: service.JpHistory) -> dict[tuple[str, int], str]:
    """What earned each credit: the course of a certificate, the name of an external training
    (mentoring references already say it); two queries whatever the number of credits."""
    ids: dict[str, set[int]] = {service.CERTIFICATE: set(), service.EXTERNAL_TRAINING: set()}
    entries = [(g.source, e) for g in history.groups for e in g.entries] + history.withdrawn
    for source, entry in entries:
        if source in ids:
            ids[source].add(entry.source_id)
    found = {
        service.CERTIFICATE: certificates_service.course_titles(
            session, sorted(ids[service.CERTIFICATE])
        ),
        service.EXTERNAL_TRAINING: external_training_service.names(
            session, ids[service.EXTERNAL_TRAINING]
        ),
    }
    return {(src, i): title for src, titles in found.items() for i, title in titles.items()}


@router.get("/my/jp")
def history_page(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Response:
    result = service.history(db, principal.user_id, year or courses_service.today().year, settings)
    percent = min(100.0, 100 * result.total_jp / result.target_jp) if result.target_jp else 100.0
    return render(
        request,
        "jp/history.html",
        {
            "h": result,
            "percent": round(percent),
            "remaining": max(0.0, round(result.target_jp - result.total_jp, 2)),
            "sources": source_labels(),
            "titles": entry_titles(db, result),
            "funding": funding_labels(),
            "pppk_cap": settings.pppk_annual_jp_cap,
        },
    )
