"""Learner pages: the catalog, a course page with its outline, and the activity player."""

from __future__ import annotations

import math

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep, verify_csrf
from app.auth.service import Principal
from app.competency import service as competency_service
from app.core.errors import LMSError
from app.core.markdown import render_markdown
from app.courses import content, kinds, player, service
from app.courses.constants import (  # the labels live with the vocabularies; other domains import them
    ActivityKind,
    category_labels,
    funding_labels,
    kind_labels,
    mode_labels,
    status_labels,
)
from app.progress import service as progress_service
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(tags=["pages"], include_in_schema=False)

PER_PAGE = 24


def _labels() -> dict[str, dict[str, str]]:
    return {
        "category_labels": category_labels(),
        "mode_labels": mode_labels(),
        "funding_labels": funding_labels(),
        "kind_labels": kind_labels(),
        "status_labels": status_labels(),
    }


@router.get("/courses")
def catalog_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    q: str | None = None,
    category: str | None = None,
    mode: str | None = None,
    open: str | None = None,
    page: int = 1,
) -> Response:
    page = max(page, 1)
    total, courses = service.catalog(
        db,
        principal,
        q=q or None,
        category=category or None,
        mode=mode or None,
        open_only=bool(open),
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
    )
    return render(
        request,
        "courses/catalog.html",
        {
            "courses": courses,
            "total": total,
            "q": q or "",
            "category": category or "",
            "mode": mode or "",
            "open": bool(open),
            "page": page,
            "pages": max(1, math.ceil(total / PER_PAGE)),
            "competency_names": competency_service.competency_names(db) if courses else {},
            **_labels(),
        },
    )


def _course_context(db: Session, course_id: int, principal: Principal) -> dict[str, object]:
    from app.courses import runs  # waiting-list places (issue 16)

    p = player.build(db, course_id, principal)
    return {
        "waiting_places": runs.waiting_places(db, principal.user_id, course_id),
        "p": p,
        "c": p.course,
        "staff": service.is_staff(principal),
        "player_states": player.state_labels(),
        "breadcrumbs": player.breadcrumbs(p),
        **_labels(),
    }


@router.get("/courses/{course_id}")
def course_page(
    request: Request, course_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> Response:
    return render(request, "courses/course.html", _course_context(db, course_id, principal))


@router.get("/my/courses")
def my_courses_page(
    request: Request, db: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
) -> Response:
    from app.certificates import service as certificates_service

    rows = service.my_courses(db, principal)
    progress = {
        c.run_id: c for c in certificates_service.my_courses(db, principal.user_id, settings)
    }
    return render(
        request,
        "courses/my_courses.html",
        {"rows": rows, "progress": progress, **_labels()},
    )


@router.post("/runs/{run_id}/enrol", dependencies=[Depends(verify_csrf)])
def enrol_self(
    request: Request, run_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> Response:
    run = service.get_run(db, run_id)
    try:
        enrolment = service.self_enrol(db, run, principal)
    except LMSError as exc:
        db.rollback()
        context = _course_context(db, run.course_id, principal)
        context["error"] = exc.detail
        return render(request, "courses/course.html", context, status_code=exc.status_code)
    done = "waitlisted" if enrolment.status == "waitlisted" else "enrolled"
    return RedirectResponse(f"/courses/{run.course_id}?{done}=1", status_code=303)


@router.get("/activities/{activity_id}")
def activity_page(
    request: Request,
    activity_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    activity = service.get_activity(db, activity_id)
    enrolment = service.ensure_content_access(db, principal, activity)
    p = player.build(db, activity.course_id, principal, current_id=activity.id)
    if enrolment is not None:
        player.ensure_open(p)
    if activity.kind == ActivityKind.QUIZ:
        from app.quizzes.service import quiz_for_activity

        quiz = quiz_for_activity(db, activity.id)
        return RedirectResponse(f"/quizzes/{quiz.id}", status_code=303)
    item = p.current
    context: dict[str, object] = {
        "p": p,
        "a": service.activity_read(activity),
        "item": item,
        "rule": player.rule_for(p, item, settings, activity.min_view_seconds or 0) if item else "",
        "player_states": player.state_labels(),
        "breadcrumbs": player.breadcrumbs(p, item),
        "staff": service.is_staff(principal),
        "enrolled": enrolment is not None,
        "content_url": f"/api/v1/activities/{activity.id}/content",
        "progress_url": f"/api/v1/activities/{activity.id}/progress",
        "resume_at": progress_service.resume_position(db, enrolment.id, activity.id)
        if enrolment
        else 0.0,
        "min_view_seconds": activity.min_view_seconds or 0,
        **_labels(),
    }
    if activity.kind == ActivityKind.PAGE:
        context["body_html"] = render_markdown(activity.body_md)
    if activity.kind == ActivityKind.SCORM and activity.scorm_package_id:
        context.update(content.scorm_player_context(db, settings, activity, enrolment, principal))
    hooks = kinds.hooks_for(activity.kind)
    if hooks is not None:  # a live session or an assignment: its domain fills the page
        context.update(hooks.page_context(db, activity, principal, enrolment))
        context["kind_template"] = hooks.template
    return render(request, "courses/activity.html", context)
