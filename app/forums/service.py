"""Rules of the discussion forums: who may read and post (the run's members, course forums for
every run of the course), moderation by facilitators and run managers, the authors' edit window,
attachments and the notifications a new post sends to subscribers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.core.config import Settings, get_settings
from app.core.db import utcnow
from app.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from app.core.i18n import gettext_ as _
from app.core.markdown import render_markdown
from app.courses import filetypes, uploads
from app.courses import staff as run_staff
from app.courses.constants import StaffRole
from app.courses.models import ContentFile
from app.forums import repository
from app.forums.models import Forum, ForumAttachment, ForumPost, ForumThread
from app.forums.schemas import (
    QUERY_MAX,
    TITLE_MIN,
    AttachmentRead,
    AuthorRef,
    CourseForumRead,
    ForumRead,
    PostRead,
    PostUpdate,
    ThreadCreate,
    ThreadDetail,
    ThreadPage,
    ThreadRead,
)
from app.notifications import service as notifications
from app.notifications.constants import NewNotification
from app.storage.service import get_storage

ATTACHMENT_TYPES = frozenset(
    t.mime for t in (filetypes.PDF, filetypes.JPEG, filetypes.PNG, filetypes.GIF, filetypes.WEBP)
)
IMAGE_TYPES = ATTACHMENT_TYPES - {filetypes.PDF.mime}
EXCERPT_CHARS = 200
MAX_PER_PAGE = 100


def now() -> dt.datetime:
    """The current moment (UTC); tests monkeypatch this to step past the edit window."""
    return utcnow()


@dataclass(frozen=True, slots=True)
class Scope:
    """The caller's place in one forum: `staff` see hidden posts with their reasons, `moderator`
    pins, locks, hides and marks answers (DESIGN: facilitators and run managers; a grader is
    staff who posts but does not moderate)."""

    key: str
    course_id: int
    run_id: int | None
    forum: Forum | None  # None: the run's forum is made by its first thread
    user_id: int
    staff: bool
    moderator: bool

    def url(self) -> str:
        if self.run_id is not None:
            return f"/runs/{self.run_id}/forum"
        return f"/courses/{self.course_id}/forum"


# --- who may read ---------------------------------------------------------------------------


def run_scope(session: Session, principal: Principal, run_id: int) -> Scope:
    """Members of the run only (app.courses.staff.require_member: 403 for a learner or a
    facilitator of another run, 404 for a run that does not exist)."""
    found = run_staff.require_member(session, principal, run_id)
    key = repository.run_key(run_id)
    return Scope(
        key=key, course_id=found.run.course_id, run_id=run_id,
        forum=repository.forum_by_key(session, key), user_id=principal.user_id,
        staff=found.staff, moderator=found.can(run_staff.TEACH),
    )  # fmt: skip


def course_scope(
    session: Session, principal: Principal, course_id: int, forum: Forum | None = None
) -> Scope:
    """A course forum, once the content admin turned it on (404 before): anyone enrolled in a
    run of the course, the staff of its runs and run managers; 403 for anyone else."""
    key = repository.course_key(course_id)
    forum = forum or repository.forum_by_key(session, key)
    if forum is None or not forum.enabled:
        raise NotFound(_("Forum pelatihan ini tidak aktif."), code="forum_not_found")
    if run_staff.is_manager(principal):
        staff, moderator = True, True
    else:
        role = run_staff.course_staff_role(session, principal, course_id)
        staff, moderator = role is not None, role == StaffRole.FACILITATOR.value
        if not staff and not repository.enrolled_in_course(session, course_id, principal.user_id):
            raise Forbidden(_("Anda bukan peserta pelatihan ini."), code="not_course_member")
    return Scope(
        key=key, course_id=course_id, run_id=None, forum=forum, user_id=principal.user_id,
        staff=staff, moderator=moderator,
    )  # fmt: skip


def forum_scope(session: Session, principal: Principal, forum: Forum) -> Scope:
    if forum.run_id is not None:
        found = run_staff.require_member(session, principal, forum.run_id)
        return Scope(
            key=forum.scope_key, course_id=forum.course_id, run_id=forum.run_id, forum=forum,
            user_id=principal.user_id, staff=found.staff, moderator=found.can(run_staff.TEACH),
        )  # fmt: skip
    return course_scope(session, principal, forum.course_id, forum)


def _thread_scope(
    session: Session, principal: Principal, thread_id: int
) -> tuple[Scope, ForumThread, str | None]:
    found = repository.thread_with_forum(session, thread_id)
    if found is None:
        raise NotFound(_("Topik tidak ditemukan."), code="thread_not_found")
    thread, forum, author_name = found
    scope = forum_scope(session, principal, forum)
    if thread.hidden and not scope.staff:
        raise NotFound(_("Topik tidak ditemukan."), code="thread_not_found")
    return scope, thread, author_name


def thread_scope(
    session: Session, principal: Principal, thread_id: int
) -> tuple[Scope, ForumThread]:
    """The thread and the caller's scope; a hidden thread is gone (404) for learners."""
    scope, thread, _name = _thread_scope(session, principal, thread_id)
    return scope, thread


def _post_scope(
    session: Session, principal: Principal, post_id: int
) -> tuple[Scope, ForumThread, ForumPost, str | None]:
    found = repository.post_with_thread(session, post_id)
    if found is None:
        raise NotFound(_("Tulisan tidak ditemukan."), code="post_not_found")
    post, thread, forum, author_name = found
    scope = forum_scope(session, principal, forum)
    if (post.hidden_at is not None or thread.hidden) and not scope.staff:
        raise NotFound(_("Tulisan tidak ditemukan."), code="post_not_found")
    return scope, thread, post, author_name


def post_scope(
    session: Session, principal: Principal, post_id: int
) -> tuple[Scope, ForumThread, ForumPost]:
    """The post, its thread and the caller's scope; a hidden post is gone (404) for learners."""
    scope, thread, post, _name = _post_scope(session, principal, post_id)
    return scope, thread, post


def _require_moderator(scope: Scope) -> None:
    if not scope.moderator:
        raise Forbidden(
            _("Hanya fasilitator dan pengelola angkatan yang dapat memoderasi forum."),
            code="not_forum_moderator",
        )


# --- reading --------------------------------------------------------------------------------


def forum_read(session: Session, scope: Scope, subscribed: bool) -> ForumRead:
    course_title, run_name = repository.scope_titles(session, scope.course_id, scope.run_id)
    return ForumRead(
        id=scope.forum.id if scope.forum else None, course_id=scope.course_id,
        run_id=scope.run_id, course_title=course_title, run_name=run_name,
        subscribed=subscribed, can_moderate=scope.moderator, url=scope.url(),
    )  # fmt: skip


def _author(user_id: int | None, name: str | None, roles: dict[int, str]) -> AuthorRef:
    return AuthorRef(
        id=user_id,
        name=name or _("(akun dihapus)"),
        staff_role=roles.get(user_id) if user_id is not None else None,
    )


def _thread_read(thread: ForumThread, name: str | None, roles: dict[int, str]) -> ThreadRead:
    return ThreadRead(
        id=thread.id, forum_id=thread.forum_id, title=thread.title,
        author=_author(thread.author_id, name, roles), pinned=thread.pinned, locked=thread.locked,
        hidden=thread.hidden, answered=thread.answer_post_id is not None,
        reply_count=thread.reply_count, last_post_at=thread.last_post_at,
        created_at=thread.created_at, url=f"/forum/threads/{thread.id}",
    )  # fmt: skip


def _clean_query(q: str | None) -> str | None:
    q = " ".join((q or "").split())[:QUERY_MAX]
    return q or None


def list_threads(
    session: Session, scope: Scope, *, q: str | None, page: int, per_page: int
) -> ThreadPage:
    """Pinned threads first, then by latest post; `q` searches titles and visible posts. A
    fixed number of statements whatever the number of threads."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    q = _clean_query(q)
    subscribed = False
    items: list[ThreadRead] = []
    total = 0
    if scope.forum is not None:
        total, rows = repository.thread_page(
            session, scope.forum.id, include_hidden=scope.staff, q=q,
            offset=(page - 1) * per_page, limit=per_page,
        )  # fmt: skip
        roles = repository.staff_roles(session, scope.forum)
        items = [_thread_read(t, name, roles) for t, name in rows]
        subscribed = "forum" in repository.subscription_targets(
            session, scope.user_id, scope.forum.id
        )
    return ThreadPage(
        forum=forum_read(session, scope, subscribed), q=q, total=total, page=page,
        per_page=per_page, items=items,
    )  # fmt: skip


def editable_until(post: ForumPost, user_id: int, settings: Settings) -> dt.datetime | None:
    """Authors may edit their own visible post for forum_edit_window_minutes (setting)."""
    if post.author_id != user_id or post.hidden_at is not None:
        return None
    until = post.created_at + dt.timedelta(minutes=settings.forum_edit_window_minutes)
    return until if now() <= until else None


def _attachment_read(a: ForumAttachment) -> AttachmentRead:
    return AttachmentRead(
        id=a.id, name=a.name, content_type=a.content_type, size=a.size,
        url=f"/api/v1/forum/attachments/{a.id}", image=a.content_type in IMAGE_TYPES,
    )  # fmt: skip


def _post_read(
    post: ForumPost,
    name: str | None,
    thread: ForumThread,
    scope: Scope,
    roles: dict[int, str],
    attachments: list[ForumAttachment],
    settings: Settings,
) -> PostRead:
    hidden = post.hidden_at is not None
    return PostRead(
        id=post.id, thread_id=post.thread_id, author=_author(post.author_id, name, roles),
        opening=post.opening, body=post.body, html=render_markdown(post.body),
        created_at=post.created_at, edited_at=post.edited_at,
        editable_until=editable_until(post, scope.user_id, settings),
        answer=thread.answer_post_id == post.id, hidden=hidden,
        hidden_reason=post.hidden_reason if hidden and scope.staff else None,
        hidden_at=post.hidden_at if hidden and scope.staff else None,
        attachments=[_attachment_read(a) for a in attachments],
    )  # fmt: skip


def thread_view(session: Session, principal: Principal, thread_id: int) -> ThreadRead:
    """One thread as the list shows it."""
    scope, thread, name = _thread_scope(session, principal, thread_id)
    assert scope.forum is not None
    return _thread_read(thread, name, repository.staff_roles(session, scope.forum))


def post_view(session: Session, principal: Principal, post_id: int, settings: Settings) -> PostRead:
    """One post as the thread page shows it to the caller."""
    scope, thread, post, name = _post_scope(session, principal, post_id)
    assert scope.forum is not None
    roles = repository.staff_roles(session, scope.forum)
    files = repository.attachments_of(session, [post.id])[post.id]
    return _post_read(post, name, thread, scope, roles, files, settings)


def attachment_view(row: ForumAttachment) -> AttachmentRead:
    return _attachment_read(row)


def thread_detail(
    session: Session,
    principal: Principal,
    thread_id: int,
    *,
    page: int = 1,
    per_page: int = 50,
    settings: Settings | None = None,
) -> ThreadDetail:
    """A thread with a page of its posts (hidden ones for staff only, with the reason): a
    fixed number of statements whatever the number of posts."""
    settings = settings or get_settings()
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    scope, thread, opener = _thread_scope(session, principal, thread_id)
    assert scope.forum is not None
    total, rows = repository.post_page(
        session, thread.id, include_hidden=scope.staff, offset=(page - 1) * per_page,
        limit=per_page,
    )  # fmt: skip
    roles = repository.staff_roles(session, scope.forum)
    files = repository.attachments_of(session, [p.id for p, _n in rows])
    targets = repository.subscription_targets(session, scope.user_id, scope.forum.id)
    return ThreadDetail(
        forum=forum_read(session, scope, "forum" in targets),
        thread=_thread_read(thread, opener, roles),
        subscribed=f"thread:{thread.id}" in targets or "forum" in targets,
        posts=[_post_read(p, n, thread, scope, roles, files[p.id], settings) for p, n in rows],
        total=total, page=page, per_page=per_page,
    )  # fmt: skip


# --- writing --------------------------------------------------------------------------------


def _text(value: str, field: str, *, minimum: int = 1) -> str:
    """Blank text (spaces only) is refused with a message naming the field."""
    cleaned = value.strip()
    if len(cleaned) < minimum:
        message = (
            _("Judul paling sedikit %(n)s karakter.") % {"n": minimum}
            if field == "title"
            else _("Isi tulisan tidak boleh kosong.")
        )
        raise ValidationFailed(message, field=field, code="too_short")
    return cleaned


def _title(value: str) -> str:
    return re.sub(r"\s+", " ", _text(value, "title", minimum=TITLE_MIN))


def create_thread(
    session: Session, scope: Scope, data: ThreadCreate, principal: Principal
) -> tuple[ForumThread, ForumPost]:
    """Any member opens a thread (the run's forum is made on first use); its author follows
    it; the forum's subscribers hear of it."""
    title, body = _title(data.title), _text(data.body, "body")
    forum = scope.forum or repository.get_or_create_forum(
        session, scope.key, scope.course_id, scope.run_id
    )
    moment = now()
    thread = ForumThread(
        forum_id=forum.id, author_id=principal.user_id, title=title, last_post_at=moment,
        created_at=moment, pinned=False, locked=False, hidden=False, reply_count=0,
    )  # fmt: skip
    repository.add(session, thread)
    post = ForumPost(
        thread_id=thread.id, author_id=principal.user_id, opening=True, body=body,
        created_at=moment,
    )  # fmt: skip
    repository.add(session, post)
    repository.subscribe(session, principal.user_id, forum.id, thread.id)
    _announce(session, forum, thread, post, principal, new_thread=True)
    return thread, post


def reply(
    session: Session, principal: Principal, thread_id: int, body: str
) -> tuple[Scope, ForumThread, ForumPost]:
    """Members reply; a locked thread refuses replies (409) except from moderators. The writer
    follows the thread from then on; every other subscriber gets one notification."""
    scope, thread = thread_scope(session, principal, thread_id)
    assert scope.forum is not None
    if thread.locked and not scope.moderator:
        raise Conflict(_("Topik ini dikunci; balasan baru tidak diterima."), code="thread_locked")
    text = _text(body, "body")
    moment = now()
    post = ForumPost(
        thread_id=thread.id, author_id=principal.user_id, opening=False, body=text,
        created_at=moment,
    )  # fmt: skip
    repository.add(session, post)
    thread.reply_count += 1
    thread.last_post_at = moment
    session.flush()
    repository.subscribe(session, principal.user_id, scope.forum.id, thread.id)
    _announce(session, scope.forum, thread, post, principal, new_thread=False)
    return scope, thread, post


def _excerpt(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1].rstrip() + "…"


def _announce(
    session: Session,
    forum: Forum,
    thread: ForumThread,
    post: ForumPost,
    principal: Principal,
    *,
    new_thread: bool,
) -> None:
    """One notification per subscriber (of the thread or of the whole forum) per new post,
    never to its writer, only to people who may still read the forum."""
    readers = repository.subscribers(
        session, forum, None if new_thread else thread.id, principal.user_id
    )
    if not readers:
        return
    course_title, run_name = repository.scope_titles(session, forum.course_id, forum.run_id)
    context = {
        "course_title": course_title, "run_name": run_name or _("semua angkatan"),
        "thread_title": thread.title, "author_name": principal.name,
        "excerpt": _excerpt(post.body), "new_thread": new_thread, "thread_id": thread.id,
    }  # fmt: skip
    url = f"/forum/threads/{thread.id}#post-{post.id}"
    notifications.notify_many(session, [
        NewNotification(
            event="forum_reply", user_id=user_id, key=f"forum_post:{post.id}:{user_id}",
            context=context, url=url,
        )
        for user_id in readers
    ])  # fmt: skip


def edit_post(
    session: Session, principal: Principal, post_id: int, data: PostUpdate, settings: Settings
) -> tuple[Scope, ForumThread, ForumPost]:
    """Authors only (403 for anyone else, moderators included: they hide, not rewrite), within
    the edit window (409 after it); the opening post may change the thread's title too."""
    if data.body is None and data.title is None:
        raise ValidationFailed(_("Isi tulisan tidak boleh kosong."), field="body", code="empty")
    scope, thread, post = post_scope(session, principal, post_id)
    if post.author_id != principal.user_id:
        raise Forbidden(_("Hanya penulis yang dapat mengubah tulisannya."), code="not_author")
    if editable_until(post, principal.user_id, settings) is None:
        raise Conflict(
            _("Batas waktu mengubah tulisan (%(m)s menit) sudah lewat.")
            % {"m": settings.forum_edit_window_minutes},
            code="edit_window_closed",
        )
    if data.title is not None:
        if not post.opening:
            raise ValidationFailed(
                _("Judul hanya dapat diubah pada tulisan pembuka."), field="title",
                code="not_opening_post",
            )  # fmt: skip
        thread.title = _title(data.title)
    if data.body is not None:
        post.body = _text(data.body, "body")
    post.edited_at = now()
    session.flush()
    return scope, thread, post


def attach(
    session: Session,
    principal: Principal,
    post_id: int,
    *,
    stream: BinaryIO,
    filename: str | None,
    size: int | None,
    settings: Settings,
) -> ForumAttachment:
    """The author adds an image or a PDF (judged by its bytes) to their post within the edit
    window: at most forum_max_attachments of forum_max_attachment_bytes each."""
    _scope, _thread, post = post_scope(session, principal, post_id)
    if post.author_id != principal.user_id:
        raise Forbidden(_("Hanya penulis yang dapat melampirkan berkas."), code="not_author")
    if editable_until(post, principal.user_id, settings) is None:
        raise Conflict(_("Batas waktu mengubah tulisan sudah lewat."), code="edit_window_closed")
    if repository.attachment_count(session, post.id) >= settings.forum_max_attachments:
        raise ValidationFailed(
            _("Paling banyak %(n)s lampiran per tulisan.") % {"n": settings.forum_max_attachments},
            field="file", code="too_many_files",
        )  # fmt: skip
    stored = _store(session, stream, size, settings)
    row = ForumAttachment(
        post_id=post.id, file_id=stored.id, content_type=stored.content_type, size=stored.size,
        name=uploads.clean_filename(filename or "") or f"lampiran-{post.id}",
    )  # fmt: skip
    repository.add(session, row)
    return row


def _store(session: Session, stream: BinaryIO, size: int | None, settings: Settings) -> ContentFile:
    """Through the shared upload path (app.courses.uploads): checked by content, capped."""
    rule = uploads.SmallFileRule(
        cap=settings.forum_max_attachment_bytes,
        mimes=ATTACHMENT_TYPES,
        too_large=_("Lampiran paling besar %(size)s."),
        empty=_("Berkas lampiran kosong."),
        unsupported=_(
            "Lampiran harus berupa gambar (JPEG, PNG, GIF, WebP) atau PDF; berkas ini %(what)s."
        ),
        unsupported_code="unsupported_attachment",
    )
    return uploads.store_small_file(session, get_storage(settings), stream, size, rule, settings)


def attachment(
    session: Session, principal: Principal, attachment_id: int
) -> tuple[ForumAttachment, ContentFile]:
    """An attachment, to whoever may read its post (a hidden post's files: staff only)."""
    found = repository.attachment_with_post(session, attachment_id)
    if found is None:
        raise NotFound(_("Lampiran tidak ditemukan."), code="attachment_not_found")
    row, post, thread, forum, stored = found
    scope = forum_scope(session, principal, forum)
    if (post.hidden_at is not None or thread.hidden) and not scope.staff:
        raise NotFound(_("Lampiran tidak ditemukan."), code="attachment_not_found")
    return row, stored


# --- moderation -----------------------------------------------------------------------------


def pin(session: Session, principal: Principal, thread_id: int, pinned: bool) -> ForumThread:
    """Moderators pin a thread to the top of the list (or unpin it)."""
    scope, thread = thread_scope(session, principal, thread_id)
    _require_moderator(scope)
    thread.pinned = pinned
    session.flush()
    return thread


def lock(session: Session, principal: Principal, thread_id: int, locked: bool) -> ForumThread:
    """Moderators lock a thread: learners can read it but not reply."""
    scope, thread = thread_scope(session, principal, thread_id)
    _require_moderator(scope)
    thread.locked = locked
    session.flush()
    return thread


def mark_answer(session: Session, principal: Principal, post_id: int, answer: bool) -> ForumThread:
    """Moderators mark one visible reply as the facilitator's answer (replacing an earlier
    mark), or take the mark away."""
    scope, thread, post = post_scope(session, principal, post_id)
    _require_moderator(scope)
    if answer:
        if post.opening:
            raise Conflict(
                _("Tulisan pembuka tidak dapat ditandai sebagai jawaban."), code="opening_post"
            )
        if post.hidden_at is not None:
            raise Conflict(
                _("Tulisan tersembunyi tidak dapat menjadi jawaban."), code="post_hidden"
            )
        thread.answer_post_id = post.id
    elif thread.answer_post_id == post.id:
        thread.answer_post_id = None
    session.flush()
    return thread


def hide(
    session: Session, principal: Principal, post_id: int, reason: str
) -> tuple[ForumThread, ForumPost]:
    """Moderators hide a post with a reason: learners no longer see it (hiding the opening
    post hides the thread), staff still do, with the reason. Hiding again changes the reason."""
    scope, thread, post = post_scope(session, principal, post_id)
    _require_moderator(scope)
    text = _text(reason, "reason")
    if post.hidden_at is None:
        post.hidden_at = now()
        if post.opening:
            thread.hidden = True
        else:
            thread.reply_count = max(0, thread.reply_count - 1)
        if thread.answer_post_id == post.id:
            thread.answer_post_id = None
    post.hidden_by_id = principal.user_id
    post.hidden_reason = text
    session.flush()
    return thread, post


def unhide(session: Session, principal: Principal, post_id: int) -> tuple[ForumThread, ForumPost]:
    """Moderators show a hidden post again (the reason is cleared)."""
    scope, thread, post = post_scope(session, principal, post_id)
    _require_moderator(scope)
    if post.hidden_at is not None:
        post.hidden_at = None
        post.hidden_reason = None
        post.hidden_by_id = None
        if post.opening:
            thread.hidden = False
        else:
            thread.reply_count += 1
    session.flush()
    return thread, post


# --- subscriptions --------------------------------------------------------------------------


def subscribe_thread(session: Session, principal: Principal, thread_id: int, on: bool) -> bool:
    scope, thread = thread_scope(session, principal, thread_id)
    assert scope.forum is not None
    if on:
        repository.subscribe(session, principal.user_id, scope.forum.id, thread.id)
    else:
        repository.unsubscribe(session, principal.user_id, scope.forum.id, thread.id)
    session.flush()
    return on


def subscribe_forum(session: Session, scope: Scope, on: bool) -> bool:
    """Follow every new thread and reply of the forum (made on first use, like by a thread)."""
    if on:
        forum = scope.forum or repository.get_or_create_forum(
            session, scope.key, scope.course_id, scope.run_id
        )
        repository.subscribe(session, scope.user_id, forum.id, None)
    elif scope.forum is not None:
        repository.unsubscribe(session, scope.user_id, scope.forum.id, None)
    session.flush()
    return on


# --- course forums --------------------------------------------------------------------------


def course_forum(session: Session, course_id: int) -> CourseForumRead:
    if not repository.course_exists(session, course_id):
        raise NotFound(_("Pelatihan tidak ditemukan."), code="course_not_found")
    forum = repository.forum_by_key(session, repository.course_key(course_id))
    return CourseForumRead(
        course_id=course_id, enabled=bool(forum and forum.enabled),
        forum_id=forum.id if forum else None,
    )  # fmt: skip


def set_course_forum(session: Session, course_id: int, enabled: bool) -> CourseForumRead:
    """The content admin's switch: one forum for all runs of the course. Turning it off hides
    the forum (404) but keeps its threads for when it is turned on again."""
    if not repository.course_exists(session, course_id):
        raise NotFound(_("Pelatihan tidak ditemukan."), code="course_not_found")
    key = repository.course_key(course_id)
    forum = repository.forum_by_key(session, key)
    if forum is None and enabled:
        forum = repository.get_or_create_forum(session, key, course_id, None)
    if forum is not None:
        forum.enabled = enabled
        session.flush()
    return course_forum(session, course_id)
