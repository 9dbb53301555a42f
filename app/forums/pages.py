"""HTML pages of the forums: a run's (or course's) thread list with search and the new-thread
form, and a thread with its posts, reply form, edits, moderation and subscription. Rules are the
service's; routes parse forms, call it and render or redirect."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep
from app.auth.service import Principal
from app.core.config import Settings
from app.core.errors import LMSError, ValidationFailed
from app.core.i18n import gettext_ as _
from app.courses import uploads
from app.forums import service
from app.forums.dependencies import PostingLimit
from app.forums.schemas import (
    BODY_MAX,
    QUERY_MAX,
    REASON_MAX,
    TITLE_MAX,
    PostUpdate,
    ThreadCreate,
)
from app.web.params import PageNumber, RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(include_in_schema=False)

THREADS_PER_PAGE = 25
POSTS_PER_PAGE = 30


async def posted_form(request: Request) -> FormData:
    """The posted form, files included (CSRF was checked already by the principal dependency)."""
    return await request.form()


Form = Annotated[FormData, Depends(posted_form)]
Search = Annotated[str | None, Query(max_length=QUERY_MAX)]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _file(form: FormData, name: str = "file") -> UploadFile | None:
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


def _pages(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def role_labels() -> dict[str, str]:
    return {"facilitator": _("Fasilitator"), "grader": _("Penilai")}


def _limits(settings: Settings) -> dict[str, Any]:
    return {
        "title_max": TITLE_MAX, "body_max": BODY_MAX, "reason_max": REASON_MAX,
        "query_max": QUERY_MAX, "files": settings.forum_max_attachments,
        "file_size": uploads.human_size(settings.forum_max_attachment_bytes),
        "edit_minutes": settings.forum_edit_window_minutes,
    }  # fmt: skip


def _field_errors(exc: ValidationFailed) -> dict[str, str]:
    errors: dict[str, str] = {}
    for e in exc.errors or [{"field": exc.field, "message": exc.detail}]:
        if e.get("field"):
            errors.setdefault(str(e["field"]), str(e["message"]))
    return errors


def _attach_upload(
    db: SessionDep,
    principal: Principal,
    post_id: int,
    upload: UploadFile | None,
    settings: Settings,
) -> None:
    if upload is not None:
        service.attach(
            db, principal, post_id, stream=upload.file, filename=upload.filename,
            size=upload.size, settings=settings,
        )  # fmt: skip


# --- the thread list ---------------------------------------------------------------------------


def _list_page(
    request: Request,
    db: SessionDep,
    scope: service.Scope,
    settings: Settings,
    *,
    q: str | None,
    page: int,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    result = service.list_threads(db, scope, q=q, page=page, per_page=THREADS_PER_PAGE)
    forum = result.forum
    heading = forum.run_name or _("Semua angkatan")
    crumbs: list[tuple[str, str | None]] = [(forum.course_title, f"/courses/{forum.course_id}")]
    if forum.run_id is not None and scope.staff:
        crumbs.append((heading, f"/runs/{forum.run_id}/teach"))
    crumbs.append((_("Forum"), None))
    return render(
        request,
        "forums/threads.html",
        {
            "result": result,
            "forum": forum,
            "heading": heading,
            "action": forum.url,
            "pages": _pages(result.total, THREADS_PER_PAGE),
            "query": urllib.parse.urlencode({"q": result.q}) if result.q else "",
            "values": values or {"title": "", "body": ""},
            "errors": errors or {},
            "limits": _limits(settings),
            "role_labels": role_labels(),
            "done": request.query_params.get("done", ""),
            "breadcrumbs": crumbs,
        },
        status_code=status_code,
    )


def _create_thread(
    request: Request,
    db: SessionDep,
    scope: service.Scope,
    principal: Principal,
    settings: Settings,
    form: FormData,
) -> Response:
    values = {"title": _text(form, "title"), "body": _text(form, "body")}
    errors: dict[str, str] = {}
    if not values["title"].strip() or len(values["title"]) > TITLE_MAX:
        errors["title"] = _("Isi judul (paling banyak %(n)s karakter).") % {"n": TITLE_MAX}
    if not values["body"].strip() or len(values["body"]) > BODY_MAX:
        errors["body"] = _("Isi pertanyaan atau bahasan (paling banyak %(n)s karakter).") % {
            "n": BODY_MAX
        }
    if not errors:
        try:
            thread, post = service.create_thread(
                db, scope, ThreadCreate.model_validate(values), principal
            )
            _attach_upload(db, principal, post.id, _file(form), settings)
        except LMSError as exc:
            if exc.status_code in (403, 404):
                raise
            db.rollback()
            if isinstance(exc, ValidationFailed):
                errors = _field_errors(exc)
            errors = errors or {"file" if exc.status_code in (413, 415) else "body": exc.detail}
        else:
            return RedirectResponse(f"/forum/threads/{thread.id}?done=created", status_code=303)
    return _list_page(
        request, db, scope, settings, q=None, page=1, values=values, errors=errors,
        status_code=422,
    )  # fmt: skip


@router.get("/runs/{run_id}/forum")
def run_forum(
    request: Request,
    run_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    q: Search = None,
    page: PageNumber = 1,
) -> Response:
    """The run's forum for its members (403 for others): pinned first, search, new thread."""
    scope = service.run_scope(db, principal, run_id)
    return _list_page(request, db, scope, settings, q=q, page=page)


@router.post("/runs/{run_id}/forum")
def run_forum_post(
    request: Request,
    run_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    form: Form,
    _limit: PostingLimit,
) -> Response:
    scope = service.run_scope(db, principal, run_id)
    return _create_thread(request, db, scope, principal, settings, form)


@router.post("/runs/{run_id}/forum/subscription")
def run_forum_subscription(
    run_id: RowId, db: SessionDep, principal: CurrentPrincipal, form: Form
) -> Response:
    scope = service.run_scope(db, principal, run_id)
    on = service.subscribe_forum(db, scope, _text(form, "subscribe") == "1")
    return RedirectResponse(f"{scope.url()}?done={'subscribed' if on else 'unsubscribed'}", 303)


@router.get("/courses/{course_id}/forum")
def course_forum(
    request: Request,
    course_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    q: Search = None,
    page: PageNumber = 1,
) -> Response:
    """The course forum for every run of the course, once the content admin turned it on."""
    scope = service.course_scope(db, principal, course_id)
    return _list_page(request, db, scope, settings, q=q, page=page)


@router.post("/courses/{course_id}/forum")
def course_forum_post(
    request: Request,
    course_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    form: Form,
    _limit: PostingLimit,
) -> Response:
    scope = service.course_scope(db, principal, course_id)
    return _create_thread(request, db, scope, principal, settings, form)


@router.post("/courses/{course_id}/forum/subscription")
def course_forum_subscription(
    course_id: RowId, db: SessionDep, principal: CurrentPrincipal, form: Form
) -> Response:
    scope = service.course_scope(db, principal, course_id)
    on = service.subscribe_forum(db, scope, _text(form, "subscribe") == "1")
    return RedirectResponse(f"{scope.url()}?done={'subscribed' if on else 'unsubscribed'}", 303)


# --- one thread --------------------------------------------------------------------------------


def _thread_page(
    request: Request,
    db: SessionDep,
    principal: Principal,
    settings: Settings,
    thread_id: int,
    *,
    page: int = 1,
    reply: str = "",
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    detail = service.thread_detail(
        db, principal, thread_id, page=page, per_page=POSTS_PER_PAGE, settings=settings
    )
    forum = detail.forum
    return render(
        request,
        "forums/thread.html",
        {
            "d": detail,
            "t": detail.thread,
            "forum": forum,
            "page": page,
            "pages": _pages(detail.total, POSTS_PER_PAGE),
            "reply": reply,
            "errors": errors or {},
            "error": error,
            "limits": _limits(settings),
            "role_labels": role_labels(),
            "me": principal.user_id,
            "done": request.query_params.get("done", ""),
            "breadcrumbs": [
                (forum.course_title, f"/courses/{forum.course_id}"),
                (
                    _("Forum %(run)s") % {"run": forum.run_name} if forum.run_name else _("Forum"),
                    forum.url,
                ),
                (detail.thread.title, None),
            ],
        },
        status_code=status_code,
    )


@router.get("/forum/threads/{thread_id}")
def thread_page(
    request: Request,
    thread_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    page: PageNumber = 1,
) -> Response:
    """Posts of the thread; moderation buttons for facilitators; edit own post in the window."""
    return _thread_page(request, db, principal, settings, thread_id, page=page)


def _back(thread_id: int, done: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/forum/threads/{thread_id}?done={done}{anchor}", status_code=303)


@router.post("/forum/threads/{thread_id}/replies")
def reply_page(
    request: Request,
    thread_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    form: Form,
    _limit: PostingLimit,
) -> Response:
    body = _text(form, "body")
    if not body.strip() or len(body) > BODY_MAX:
        return _thread_page(
            request, db, principal, settings, thread_id, reply=body, status_code=422,
            errors={"body": _("Tulis balasan (paling banyak %(n)s karakter).") % {"n": BODY_MAX}},
        )  # fmt: skip
    try:
        _scope, _thread, post = service.reply(db, principal, thread_id, body)
        _attach_upload(db, principal, post.id, _file(form), settings)
    except LMSError as exc:
        if exc.status_code in (403, 404):
            raise
        db.rollback()
        errors = _field_errors(exc) if isinstance(exc, ValidationFailed) else {}
        if exc.status_code in (413, 415):
            errors["file"] = exc.detail
        return _thread_page(
            request, db, principal, settings, thread_id, reply=body, errors=errors,
            error=exc.detail, status_code=exc.status_code,
        )  # fmt: skip
    return _back(thread_id, "replied", f"#post-{post.id}")


def _act(
    request: Request,
    db: SessionDep,
    principal: Principal,
    settings: Settings,
    thread_id: int,
    action: Callable[[], object],
    done: str,
    anchor: str = "",
) -> Response:
    """Run one service action; a refused one (409, 422) re-renders the thread with its message."""
    try:
        action()
    except LMSError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        db.rollback()
        return _thread_page(
            request, db, principal, settings, thread_id, error=exc.detail,
            status_code=exc.status_code,
        )  # fmt: skip
    return _back(thread_id, done, anchor)


@router.post("/forum/threads/{thread_id}/pin")
def pin_page(
    request: Request,
    thread_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    form: Form,
) -> Response:
    on = _text(form, "value") == "1"
    return _act(
        request, db, principal, settings, thread_id,
        lambda: service.pin(db, principal, thread_id, on), "pinned" if on else "unpinned",
    )  # fmt: skip


@router.post("/forum/threads/{thread_id}/lock")
def lock_page(
    request: Request,
    thread_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    form: Form,
) -> Response:
    on = _text(form, "value") == "1"
    return _act(
        request, db, principal, settings, thread_id,
        lambda: service.lock(db, principal, thread_id, on), "locked" if on else "unlocked",
    )  # fmt: skip


@router.post("/forum/threads/{thread_id}/subscription")
def subscription_page(
    request: Request,
    thread_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    form: Form,
) -> Response:
    on = _text(form, "value") == "1"
    return _act(
        request, db, principal, settings, thread_id,
        lambda: service.subscribe_thread(db, principal, thread_id, on),
        "subscribed" if on else "unsubscribed",
    )  # fmt: skip


def _post_thread(db: SessionDep, principal: Principal, post_id: int) -> int:
    _scope, thread, _post = service.post_scope(db, principal, post_id)
    return thread.id


@router.post("/forum/posts/{post_id}/edit")
def edit_page(
    request: Request,
    post_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    form: Form,
) -> Response:
    thread_id = _post_thread(db, principal, post_id)
    title = _text(form, "title")
    body = _text(form, "body")
    upload = _file(form)

    def edit() -> None:
        if not body.strip() or len(body) > BODY_MAX or ("title" in form and not title.strip()):
            raise ValidationFailed(_("Isi tulisan tidak boleh kosong."), field="body")
        data = PostUpdate(body=body, title=title[:TITLE_MAX] if "title" in form else None)
        service.edit_post(db, principal, post_id, data, settings)
        _attach_upload(db, principal, post_id, upload, settings)

    return _act(request, db, principal, settings, thread_id, edit, "edited", f"#post-{post_id}")


@router.post("/forum/posts/{post_id}/hide")
def hide_page(
    request: Request,
    post_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    form: Form,
) -> Response:
    thread_id = _post_thread(db, principal, post_id)
    reason = _text(form, "reason")[:REASON_MAX]
    return _act(
        request, db, principal, settings, thread_id,
        lambda: service.hide(db, principal, post_id, reason), "hidden", f"#post-{post_id}",
    )  # fmt: skip


@router.post("/forum/posts/{post_id}/unhide")
def unhide_page(
    request: Request,
    post_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> Response:
    thread_id = _post_thread(db, principal, post_id)
    return _act(
        request, db, principal, settings, thread_id,
        lambda: service.unhide(db, principal, post_id), "unhidden", f"#post-{post_id}",
    )  # fmt: skip


@router.post("/forum/posts/{post_id}/answer")
def answer_page(
    request: Request,
    post_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    form: Form,
) -> Response:
    thread_id = _post_thread(db, principal, post_id)
    on = _text(form, "value") == "1"
    return _act(
        request, db, principal, settings, thread_id,
        lambda: service.mark_answer(db, principal, post_id, on),
        "answered" if on else "unanswered", f"#post-{post_id}",
    )  # fmt: skip
