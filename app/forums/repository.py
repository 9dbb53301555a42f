"""All SQL of the forums: forums by scope, thread and post pages with their authors, attachments,
subscriptions and the readers a new post is announced to."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Select, and_, delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.models import User, UserRole
from app.courses.models import ContentFile, Course, Enrolment, Run, RunStaff
from app.forums.models import Forum, ForumAttachment, ForumPost, ForumSubscription, ForumThread

MEMBER_STATUSES = ("active", "completed")
MANAGER_ROLES = ("training_officer", "admin")


def add(session: Session, obj: object) -> None:
    session.add(obj)
    session.flush()


def run_key(run_id: int) -> str:
    return f"run:{run_id}"


def course_key(course_id: int) -> str:
    return f"course:{course_id}"


def forum_by_key(session: Session, key: str) -> Forum | None:
    return session.scalar(select(Forum).where(Forum.scope_key == key))


def get_forum(session: Session, forum_id: int) -> Forum | None:
    return session.get(Forum, forum_id)


def get_or_create_forum(session: Session, key: str, course_id: int, run_id: int | None) -> Forum:
    """The forum of a scope, made on first use; two first posts at once make one forum (the
    loser of the unique index reads the winner's row)."""
    found = forum_by_key(session, key)
    if found is not None:
        return found
    forum = Forum(scope_key=key, course_id=course_id, run_id=run_id, enabled=True)
    try:
        with session.begin_nested():
            session.add(forum)
            session.flush()
    except IntegrityError:
        winner = forum_by_key(session, key)
        assert winner is not None
        return winner
    return forum


def scope_titles(session: Session, course_id: int, run_id: int | None) -> tuple[str, str | None]:
    """(course title, run name) for headings and messages, in one query."""
    if run_id is None:
        return session.scalar(select(Course.title).where(Course.id == course_id)) or "", None
    row = session.execute(
        select(Course.title, Run.name).join(Run, Run.course_id == Course.id).where(Run.id == run_id)
    ).first()
    return (str(row[0]), str(row[1])) if row else ("", None)


def course_exists(session: Session, course_id: int) -> bool:
    return session.scalar(select(Course.id).where(Course.id == course_id)) is not None


def enrolled_in_course(session: Session, course_id: int, user_id: int) -> bool:
    """An active or completed enrolment in any run of the course."""
    return (
        session.scalar(
            select(Enrolment.id)
            .join(Run, Run.id == Enrolment.run_id)
            .where(
                Run.course_id == course_id,
                Enrolment.user_id == user_id,
                Enrolment.status.in_(MEMBER_STATUSES),
            )
            .limit(1)
        )
        is not None
    )


def thread_with_forum(
    session: Session, thread_id: int
) -> tuple[ForumThread, Forum, str | None] | None:
    """The thread, its forum and its author's name, in one statement."""
    row = session.execute(
        select(ForumThread, Forum, User.name)
        .join(Forum, Forum.id == ForumThread.forum_id)
        .outerjoin(User, User.id == ForumThread.author_id)
        .where(ForumThread.id == thread_id)
    ).first()
    return (row[0], row[1], row[2]) if row else None


def post_with_thread(
    session: Session, post_id: int
) -> tuple[ForumPost, ForumThread, Forum, str | None] | None:
    """The post, its thread, its forum and its author's name, in one statement."""
    row = session.execute(
        select(ForumPost, ForumThread, Forum, User.name)
        .join(ForumThread, ForumThread.id == ForumPost.thread_id)
        .join(Forum, Forum.id == ForumThread.forum_id)
        .outerjoin(User, User.id == ForumPost.author_id)
        .where(ForumPost.id == post_id)
    ).first()
    return (row[0], row[1], row[2], row[3]) if row else None


def opening_post(session: Session, thread_id: int) -> ForumPost | None:
    return session.scalar(
        select(ForumPost).where(ForumPost.thread_id == thread_id, ForumPost.opening.is_(True))
    )


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def thread_page(
    session: Session,
    forum_id: int,
    *,
    include_hidden: bool,
    q: str | None,
    offset: int,
    limit: int,
) -> tuple[int, list[tuple[ForumThread, str | None]]]:
    """A page of threads (pinned first, then latest activity) with author names, and the count
    of all that match: two statements whatever the number of threads. `q` matches the title or
    the body of a post the caller may see (LIKE on lower case: the same on SQLite and
    PostgreSQL; a forum holds hundreds of threads, not millions)."""
    base: Select[ForumThread] = select(ForumThread).where(ForumThread.forum_id == forum_id)
    if not include_hidden:
        base = base.where(ForumThread.hidden.is_(False))
    if q:
        pattern = _like(q)
        in_post = [ForumPost.thread_id == ForumThread.id,
                   func.lower(ForumPost.body).like(pattern, escape="\\")]  # fmt: skip
        if not include_hidden:
            in_post.append(ForumPost.hidden_at.is_(None))
        base = base.where(
            or_(
                func.lower(ForumThread.title).like(pattern, escape="\\"),
                exists().where(and_(*in_post)),
            )
        )
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(
        base.add_columns(User.name)
        .outerjoin(User, User.id == ForumThread.author_id)
        .order_by(ForumThread.pinned.desc(), ForumThread.last_post_at.desc(), ForumThread.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return int(total), [(r[0], r[1]) for r in rows]


def post_page(
    session: Session, thread_id: int, *, include_hidden: bool, offset: int, limit: int
) -> tuple[int, list[tuple[ForumPost, str | None]]]:
    """A page of a thread's posts, oldest first (the opening post first), with author names,
    and the count of all the caller may see: two statements."""
    base = select(ForumPost).where(ForumPost.thread_id == thread_id)
    if not include_hidden:
        base = base.where(ForumPost.hidden_at.is_(None))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(
        base.add_columns(User.name)
        .outerjoin(User, User.id == ForumPost.author_id)
        .order_by(ForumPost.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return int(total), [(r[0], r[1]) for r in rows]


def attachments_of(session: Session, post_ids: Collection[int]) -> dict[int, list[ForumAttachment]]:
    found: dict[int, list[ForumAttachment]] = {i: [] for i in post_ids}
    if not post_ids:
        return found
    rows = session.scalars(
        select(ForumAttachment)
        .where(ForumAttachment.post_id.in_(list(post_ids)))
        .order_by(ForumAttachment.id)
    )
    for row in rows:
        found[row.post_id].append(row)
    return found


def attachment_count(session: Session, post_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(ForumAttachment)
            .where(ForumAttachment.post_id == post_id)
        )
        or 0
    )


def attachment_with_post(
    session: Session, attachment_id: int
) -> tuple[ForumAttachment, ForumPost, ForumThread, Forum, ContentFile] | None:
    row = session.execute(
        select(ForumAttachment, ForumPost, ForumThread, Forum, ContentFile)
        .join(ForumPost, ForumPost.id == ForumAttachment.post_id)
        .join(ForumThread, ForumThread.id == ForumPost.thread_id)
        .join(Forum, Forum.id == ForumThread.forum_id)
        .join(ContentFile, ContentFile.id == ForumAttachment.file_id)
        .where(ForumAttachment.id == attachment_id)
    ).first()
    return (row[0], row[1], row[2], row[3], row[4]) if row else None


def staff_roles(session: Session, forum: Forum) -> dict[int, str]:
    """User id -> staff role of the forum's run (or of any run of its course; facilitator wins),
    for the author badges: one statement."""
    query = select(RunStaff.user_id, RunStaff.role)
    if forum.run_id is not None:
        query = query.where(RunStaff.run_id == forum.run_id)
    else:
        query = query.join(Run, Run.id == RunStaff.run_id).where(Run.course_id == forum.course_id)
    roles: dict[int, str] = {}
    for user_id, role in session.execute(query):
        if roles.get(int(user_id)) != "facilitator":
            roles[int(user_id)] = str(role)
    return roles


def subscription_targets(session: Session, user_id: int, forum_id: int) -> set[str]:
    """The caller's subscriptions in a forum ("forum", "thread:12"): one statement."""
    return set(
        session.scalars(
            select(ForumSubscription.target).where(
                ForumSubscription.user_id == user_id, ForumSubscription.forum_id == forum_id
            )
        )
    )


def subscribe(session: Session, user_id: int, forum_id: int, thread_id: int | None) -> bool:
    """Add the subscription unless it exists (a double click makes one row); True when new."""
    target = f"thread:{thread_id}" if thread_id is not None else "forum"
    exists_already = session.scalar(
        select(ForumSubscription.id).where(
            ForumSubscription.user_id == user_id,
            ForumSubscription.forum_id == forum_id,
            ForumSubscription.target == target,
        )
    )
    if exists_already is not None:
        return False
    try:
        with session.begin_nested():
            session.add(ForumSubscription(
                user_id=user_id, forum_id=forum_id, thread_id=thread_id, target=target
            ))  # fmt: skip
            session.flush()
    except IntegrityError:
        return False
    return True


def unsubscribe(session: Session, user_id: int, forum_id: int, thread_id: int | None) -> None:
    target = f"thread:{thread_id}" if thread_id is not None else "forum"
    session.execute(
        delete(ForumSubscription).where(
            ForumSubscription.user_id == user_id,
            ForumSubscription.forum_id == forum_id,
            ForumSubscription.target == target,
        )
    )


def _member_clause(forum: Forum):  # type: ignore[no-untyped-def]
    """SQL: the subscriber may still read the forum (enrolled, staff or a run manager)."""
    user = ForumSubscription.user_id
    manager = exists().where(UserRole.user_id == user, UserRole.role.in_(MANAGER_ROLES))
    if forum.run_id is not None:
        enrolled = exists().where(
            Enrolment.user_id == user,
            Enrolment.run_id == forum.run_id,
            Enrolment.status.in_(MEMBER_STATUSES),
        )
        staff = exists().where(RunStaff.user_id == user, RunStaff.run_id == forum.run_id)
    else:
        course_runs = select(Run.id).where(Run.course_id == forum.course_id)
        enrolled = exists().where(
            Enrolment.user_id == user,
            Enrolment.run_id.in_(course_runs),
            Enrolment.status.in_(MEMBER_STATUSES),
        )
        staff = exists().where(RunStaff.user_id == user, RunStaff.run_id.in_(course_runs))
    return or_(enrolled, staff, manager)


def subscribers(
    session: Session, forum: Forum, thread_id: int | None, exclude_user_id: int
) -> list[int]:
    """Who follows the thread or the whole forum and may still read it, but not the writer: one
    statement whatever the number of subscribers."""
    targets = ["forum"] if thread_id is None else ["forum", f"thread:{thread_id}"]
    return sorted(
        set(
            session.scalars(
                select(ForumSubscription.user_id).where(
                    ForumSubscription.forum_id == forum.id,
                    ForumSubscription.target.in_(targets),
                    ForumSubscription.user_id != exclude_user_id,
                    _member_clause(forum),
                )
            )
        )
    )


def threads_by_ids(session: Session, ids: Sequence[int]) -> list[ForumThread]:
    return list(session.scalars(select(ForumThread).where(ForumThread.id.in_(list(ids)))))
