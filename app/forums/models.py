"""Tables of the discussion forums: one forum per run (or per course), its threads, their posts
with attachments, and who follows a thread or a whole forum."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class Forum(Base):
    """A run's forum (made on first use) or a course's forum for all its runs (run_id NULL,
    made when the content admin turns it on; `enabled` is that switch). `scope_key` ("run:5",
    "course:3") makes "one forum per run/course" a unique index, safe under concurrent first use."""

    __tablename__ = "forum"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(32), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("course_run.id", ondelete="CASCADE"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ForumThread(Base):
    """A question or topic; its first post is the opening post (hiding that hides the thread).
    `reply_count` counts visible replies; `answer_post_id` is the reply marked as the
    facilitator's answer ("jawaban fasilitator")."""

    __tablename__ = "forum_thread"
    __table_args__ = (Index("ix_forum_thread_list", "forum_id", "pinned", "last_post_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    forum_id: Mapped[int] = mapped_column(ForeignKey("forum.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(200))
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)  # its opening post is hidden
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    answer_post_id: Mapped[int | None] = mapped_column(Integer)  # no FK: posts refer to threads
    last_post_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ForumPost(Base):
    """The opening post or a reply. Markdown as written; rendered sanitised when shown. A hidden
    post stays for staff with the reason and is gone for learners."""

    __tablename__ = "forum_post"
    __table_args__ = (Index("ix_forum_post_thread", "thread_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("forum_thread.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    opening: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[dt.datetime | None]
    hidden_at: Mapped[dt.datetime | None]
    hidden_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    hidden_reason: Mapped[str | None] = mapped_column(String(500))


class ForumAttachment(Base):
    """An image or PDF attached to a post (a stored, content-checked file)."""

    __tablename__ = "forum_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(
        ForeignKey("forum_post.id", ondelete="CASCADE"), index=True
    )
    file_id: Mapped[int] = mapped_column(ForeignKey("content_file.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ForumSubscription(Base):
    """A person follows one thread (thread_id set) or the whole forum (thread_id NULL);
    `target` ("forum" or "thread:12") keeps one row per person and target."""

    __tablename__ = "forum_subscription"
    __table_args__ = (
        UniqueConstraint("user_id", "forum_id", "target"),
        Index("ix_forum_subscription_forum", "forum_id", "thread_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    forum_id: Mapped[int] = mapped_column(ForeignKey("forum.id", ondelete="CASCADE"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("forum_thread.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
