"""Pydantic shapes of forums, threads, posts and moderation (api-v1.md, classroom and blended)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

TITLE_MIN = 3
TITLE_MAX = 200
BODY_MAX = 20_000
REASON_MAX = 500
QUERY_MAX = 100


class ThreadCreate(BaseModel):
    """A new thread: its title and the markdown of its opening post."""

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    body: str = Field(min_length=1, max_length=BODY_MAX)


class ReplyCreate(BaseModel):
    body: str = Field(min_length=1, max_length=BODY_MAX)


class PostUpdate(BaseModel):
    """An author's edit within the edit window; `title` only on the opening post."""

    body: str | None = Field(default=None, min_length=1, max_length=BODY_MAX)
    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX)


class PinIn(BaseModel):
    pinned: bool = True


class LockIn(BaseModel):
    locked: bool = True


class AnswerIn(BaseModel):
    answer: bool = True


class HideIn(BaseModel):
    reason: str = Field(min_length=1, max_length=REASON_MAX)


class CourseForumIn(BaseModel):
    """The content admin's switch: one forum for every run of the course."""

    enabled: bool


class AuthorRef(BaseModel):
    id: int | None
    name: str
    staff_role: str | None = None  # facilitator / grader of the run (or of a run of the course)


class ForumRead(BaseModel):
    id: int | None  # None until the first thread makes it
    course_id: int
    run_id: int | None
    course_title: str
    run_name: str | None
    subscribed: bool
    can_moderate: bool
    url: str


class CourseForumRead(BaseModel):
    course_id: int
    enabled: bool
    forum_id: int | None


class ThreadRead(BaseModel):
    id: int
    forum_id: int
    title: str
    author: AuthorRef
    pinned: bool
    locked: bool
    hidden: bool
    answered: bool
    reply_count: int
    last_post_at: dt.datetime
    created_at: dt.datetime
    url: str


class ThreadPage(BaseModel):
    forum: ForumRead
    q: str | None
    total: int
    page: int
    per_page: int
    items: list[ThreadRead]


class AttachmentRead(BaseModel):
    id: int
    name: str
    content_type: str
    size: int
    url: str
    image: bool


class PostRead(BaseModel):
    id: int
    thread_id: int
    author: AuthorRef
    opening: bool
    body: str  # markdown as written
    html: str  # sanitised HTML of the body
    created_at: dt.datetime
    edited_at: dt.datetime | None
    editable_until: dt.datetime | None  # the caller's own post, still in the edit window
    answer: bool
    hidden: bool
    hidden_reason: str | None = None  # staff only
    hidden_at: dt.datetime | None = None  # staff only
    attachments: list[AttachmentRead]


class ThreadDetail(BaseModel):
    forum: ForumRead
    thread: ThreadRead
    subscribed: bool
    posts: list[PostRead]
    total: int
    page: int
    per_page: int


class Subscription(BaseModel):
    subscribed: bool
