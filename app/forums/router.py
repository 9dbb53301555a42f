"""API routes of the forums (api-v1: GET/POST /api/v1/runs/{run_id}/forum/threads): threads,
replies, edits, attachments, moderation, subscriptions and the course forum switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Query, Request, UploadFile
from starlette.responses import Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.courses.service import COURSE_EDITORS
from app.forums import service
from app.forums.dependencies import PostingLimit
from app.forums.schemas import (
    QUERY_MAX,
    AnswerIn,
    AttachmentRead,
    CourseForumIn,
    CourseForumRead,
    HideIn,
    LockIn,
    PinIn,
    PostRead,
    PostUpdate,
    ReplyCreate,
    Subscription,
    ThreadCreate,
    ThreadDetail,
    ThreadPage,
    ThreadRead,
)
from app.storage.service import get_storage
from app.web.delivery import serve_object
from app.web.params import PageNumber, RowId
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["forums"])

Editor = Annotated[Principal, Depends(require_roles(*COURSE_EDITORS))]
Search = Annotated[str | None, Query(max_length=QUERY_MAX, description="title and posts")]
PerPage = Annotated[int, Query(ge=1, le=service.MAX_PER_PAGE)]


def _post(db: SessionDep, principal: Principal, post_id: int, settings: SettingsDep) -> PostRead:
    return service.post_view(db, principal, post_id, settings)


def _thread(db: SessionDep, principal: Principal, thread_id: int) -> ThreadRead:
    return service.thread_view(db, principal, thread_id)


# --- run and course forums -------------------------------------------------------------------


@router.get("/runs/{run_id}/forum/threads", response_model=ThreadPage)
def run_threads(
    run_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    q: Search = None,
    page: PageNumber = 1,
    per_page: PerPage = 30,
) -> ThreadPage:
    """Members of the run (403 for others): pinned first, then latest activity; `q` searches."""
    scope = service.run_scope(db, principal, run_id)
    return service.list_threads(db, scope, q=q, page=page, per_page=per_page)


@router.post("/runs/{run_id}/forum/threads", status_code=201, response_model=ThreadRead)
def create_run_thread(
    run_id: RowId,
    data: ThreadCreate,
    db: SessionDep,
    principal: CurrentPrincipal,
    _limit: PostingLimit,
) -> ThreadRead:
    """`{title, body}` (markdown) → 201; any member of the run."""
    scope = service.run_scope(db, principal, run_id)
    thread, _post_row = service.create_thread(db, scope, data, principal)
    return _thread(db, principal, thread.id)


@router.post("/runs/{run_id}/forum/subscription", response_model=Subscription)
def subscribe_run_forum(run_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> Subscription:
    """Follow every new thread and reply of the run's forum."""
    scope = service.run_scope(db, principal, run_id)
    return Subscription(subscribed=service.subscribe_forum(db, scope, True))


@router.delete("/runs/{run_id}/forum/subscription", response_model=Subscription)
def unsubscribe_run_forum(
    run_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> Subscription:
    scope = service.run_scope(db, principal, run_id)
    return Subscription(subscribed=service.subscribe_forum(db, scope, False))


@router.get("/courses/{course_id}/forum", response_model=CourseForumRead)
def course_forum(course_id: RowId, db: SessionDep, principal: Editor) -> CourseForumRead:
    return service.course_forum(db, course_id)


@router.put("/courses/{course_id}/forum", response_model=CourseForumRead)
def set_course_forum(
    course_id: RowId, data: CourseForumIn, db: SessionDep, principal: Editor
) -> CourseForumRead:
    """Content admins turn on one forum for all runs of the course (members: anyone enrolled
    in a run of it, plus the staff of its runs)."""
    return service.set_course_forum(db, course_id, data.enabled)


@router.get("/courses/{course_id}/forum/threads", response_model=ThreadPage)
def course_threads(
    course_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    q: Search = None,
    page: PageNumber = 1,
    per_page: PerPage = 30,
) -> ThreadPage:
    scope = service.course_scope(db, principal, course_id)
    return service.list_threads(db, scope, q=q, page=page, per_page=per_page)


@router.post("/courses/{course_id}/forum/threads", status_code=201, response_model=ThreadRead)
def create_course_thread(
    course_id: RowId,
    data: ThreadCreate,
    db: SessionDep,
    principal: CurrentPrincipal,
    _limit: PostingLimit,
) -> ThreadRead:
    scope = service.course_scope(db, principal, course_id)
    thread, _post_row = service.create_thread(db, scope, data, principal)
    return _thread(db, principal, thread.id)


@router.post("/courses/{course_id}/forum/subscription", response_model=Subscription)
def subscribe_course_forum(
    course_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> Subscription:
    scope = service.course_scope(db, principal, course_id)
    return Subscription(subscribed=service.subscribe_forum(db, scope, True))


@router.delete("/courses/{course_id}/forum/subscription", response_model=Subscription)
def unsubscribe_course_forum(
    course_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> Subscription:
    scope = service.course_scope(db, principal, course_id)
    return Subscription(subscribed=service.subscribe_forum(db, scope, False))


# --- threads ---------------------------------------------------------------------------------


@router.get("/forum/threads/{thread_id}", response_model=ThreadDetail)
def get_thread(
    thread_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    page: PageNumber = 1,
    per_page: PerPage = 50,
) -> ThreadDetail:
    """The thread and a page of its posts; hidden posts for staff only, with the reason."""
    return service.thread_detail(
        db, principal, thread_id, page=page, per_page=per_page, settings=settings
    )


@router.post("/forum/threads/{thread_id}/replies", status_code=201, response_model=PostRead)
def create_reply(
    thread_id: RowId,
    data: ReplyCreate,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    _limit: PostingLimit,
) -> PostRead:
    """Members reply (409 when the thread is locked); subscribers are notified."""
    _scope, _thread_row, post = service.reply(db, principal, thread_id, data.body)
    return _post(db, principal, post.id, settings)


@router.post("/forum/threads/{thread_id}/pin", response_model=ThreadRead)
def pin_thread(
    thread_id: RowId, db: SessionDep, principal: CurrentPrincipal, data: PinIn | None = None
) -> ThreadRead:
    """Facilitators of the run and run managers (403 for others)."""
    service.pin(db, principal, thread_id, (data or PinIn()).pinned)
    return _thread(db, principal, thread_id)


@router.post("/forum/threads/{thread_id}/lock", response_model=ThreadRead)
def lock_thread(
    thread_id: RowId, db: SessionDep, principal: CurrentPrincipal, data: LockIn | None = None
) -> ThreadRead:
    service.lock(db, principal, thread_id, (data or LockIn()).locked)
    return _thread(db, principal, thread_id)


@router.post("/forum/threads/{thread_id}/subscription", response_model=Subscription)
def subscribe_thread(thread_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> Subscription:
    return Subscription(subscribed=service.subscribe_thread(db, principal, thread_id, True))


@router.delete("/forum/threads/{thread_id}/subscription", response_model=Subscription)
def unsubscribe_thread(
    thread_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> Subscription:
    return Subscription(subscribed=service.subscribe_thread(db, principal, thread_id, False))


# --- posts -----------------------------------------------------------------------------------


@router.patch("/forum/posts/{post_id}", response_model=PostRead)
def edit_post(
    post_id: RowId,
    data: PostUpdate,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> PostRead:
    """The author, within forum_edit_window_minutes (409 after); `title` on the opening post."""
    service.edit_post(db, principal, post_id, data, settings)
    return _post(db, principal, post_id, settings)


@router.post("/forum/posts/{post_id}/attachments", status_code=201, response_model=AttachmentRead)
def add_attachment(
    post_id: RowId,
    file: Annotated[UploadFile, File()],
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> AttachmentRead:
    """An image or PDF (by content) on the author's own post, within the edit window."""
    row = service.attach(
        db, principal, post_id, stream=file.file, filename=file.filename, size=file.size,
        settings=settings,
    )  # fmt: skip
    return service.attachment_view(row)


@router.get("/forum/attachments/{attachment_id}")
def get_attachment(
    request: Request,
    attachment_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> Response:
    """To members of the forum; a hidden post's files to staff only."""
    row, stored = service.attachment(db, principal, attachment_id)
    return serve_object(
        request, get_storage(settings), key=stored.storage_key, filename=row.name,
        content_type=stored.content_type, inline=True, etag_hint=stored.sha256,
        cache_control="private, max-age=300",
    )  # fmt: skip


@router.post("/forum/posts/{post_id}/hide", response_model=PostRead)
def hide_post(
    post_id: RowId,
    data: HideIn,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> PostRead:
    """Moderators hide a post with a reason (gone for learners, shown to staff with it)."""
    service.hide(db, principal, post_id, data.reason)
    return _post(db, principal, post_id, settings)


@router.post("/forum/posts/{post_id}/unhide", response_model=PostRead)
def unhide_post(
    post_id: RowId, db: SessionDep, principal: CurrentPrincipal, settings: SettingsDep
) -> PostRead:
    service.unhide(db, principal, post_id)
    return _post(db, principal, post_id, settings)


@router.post("/forum/posts/{post_id}/answer", response_model=PostRead)
def mark_answer(
    post_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    data: AnswerIn | None = None,
) -> PostRead:
    """Moderators mark a reply as the facilitator's answer (`{answer: false}` takes it away)."""
    service.mark_answer(db, principal, post_id, (data or AnswerIn()).answer)
    return _post(db, principal, post_id, settings)
