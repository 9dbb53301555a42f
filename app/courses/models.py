"""Tables for courses, their sections and activities, stored files, SCORM packages, runs, enrolments."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, TimestampMixin, utcnow


class ContentFile(Base):
    """A stored blob; identical bytes (same sha256) are stored once and shared."""

    __tablename__ = "content_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(127))
    storage_key: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Facts read from the bytes at upload (app.courses.media): a video's length, a PDF's pages.
    duration_seconds: Mapped[float | None]
    page_count: Mapped[int | None] = mapped_column(Integer)


class Course(TimestampMixin, Base):
    __tablename__ = "course"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    summary: Mapped[str | None] = mapped_column(String(1000))
    description_md: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    learning_mode: Mapped[str] = mapped_column(String(32), default="e_learning")
    jp: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    cover_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("content_file.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    published_at: Mapped[dt.datetime | None]

    sections: Mapped[list[Section]] = relationship(
        lazy="raise", order_by="Section.position", cascade="all, delete-orphan"
    )
    competencies: Mapped[list[CourseCompetency]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="CourseCompetency.competency_code"
    )


class CourseCompetency(Base):
    """A competency the course builds (codes from the competency catalog), with a target level."""

    __tablename__ = "course_competency"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("course.id", ondelete="CASCADE"), primary_key=True
    )
    competency_code: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    target_level: Mapped[int | None] = mapped_column(Integer)


class Section(Base):
    __tablename__ = "course_section"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))

    activities: Mapped[list[Activity]] = relationship(
        lazy="raise", order_by="Activity.position", cascade="all, delete-orphan"
    )


class Activity(TimestampMixin, Base):
    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(
        ForeignKey("course_section.id", ondelete="CASCADE"), index=True
    )
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(255))
    duration_minutes: Mapped[int] = mapped_column(Integer, default=0)
    # True when an editor typed the duration; False: it follows the media (length, pages, words).
    duration_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    completion_rule: Mapped[str] = mapped_column(String(32))
    locked_until_previous: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # Learners may open the activity only from / until these moments (None: no limit).
    available_from: Mapped[dt.datetime | None]
    available_until: Mapped[dt.datetime | None]
    # Document/page: the least time on the page before "viewed" counts (0: opening it is enough).
    min_view_seconds: Mapped[int] = mapped_column(Integer, default=0)
    body_md: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2048))
    file_id: Mapped[int | None] = mapped_column(
        ForeignKey("content_file.id", ondelete="RESTRICT"), index=True
    )
    file_name: Mapped[str | None] = mapped_column(String(255))
    scorm_package_id: Mapped[int | None] = mapped_column(
        ForeignKey("scorm_package.id", ondelete="RESTRICT"), index=True
    )

    file: Mapped[ContentFile | None] = relationship(lazy="raise")


class CourseEdit(Base):
    """One change to a published course: who changed which field of what, from what to what."""

    __tablename__ = "course_edit"
    __table_args__ = (Index("ix_course_edit_course_at", "course_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    target: Mapped[str] = mapped_column(String(16))  # course, section, activity
    target_id: Mapped[int | None] = mapped_column(Integer)
    target_title: Mapped[str] = mapped_column(String(255))
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)


class ScormPackage(Base):
    """An unpacked SCORM 1.2 package: its manifest and the files under its own storage prefix."""

    __tablename__ = "scorm_package"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(255))
    launch_href: Mapped[str] = mapped_column(String(1024))
    mastery_score: Mapped[float | None]
    manifest_json: Mapped[str] = mapped_column(Text)
    file_count: Mapped[int] = mapped_column(Integer)
    total_size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ScormFile(Base):
    """One file of a package: its path inside the zip and the app-made storage key."""

    __tablename__ = "scorm_file"
    __table_args__ = (UniqueConstraint("package_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("scorm_package.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(1024))
    storage_key: Mapped[str] = mapped_column(String(512))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(127))


class Run(TimestampMixin, Base):
    """An angkatan: one cohort of a course with dates, capacity and funding source."""

    __tablename__ = "course_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    enrol_opens_on: Mapped[dt.date | None]
    enrol_closes_on: Mapped[dt.date | None]
    capacity: Mapped[int | None] = mapped_column(Integer)
    enrolled_count: Mapped[int] = mapped_column(Integer, default=0)
    funding_source: Mapped[str] = mapped_column(String(32))
    organiser: Mapped[str | None] = mapped_column(String(255))
    self_enrol: Mapped[bool] = mapped_column(Boolean, default=True)
    instructors: Mapped[str | None] = mapped_column(Text)  # one name per line (survey targets)
    delivery_mode: Mapped[str] = mapped_column(String(16), default="online")  # DeliveryMode
    # When full, new enrolments wait in order (EnrolmentStatus.WAITLISTED); off: "full" (409).
    waitlist: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class RunStaff(Base):
    """A person on a run's staff (DESIGN: facilitator/widyaiswara or grader, per run)."""

    __tablename__ = "run_staff"
    __table_args__ = (
        UniqueConstraint("run_id", "user_id"),
        Index("ix_run_staff_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("course_run.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))  # StaffRole
    widyaiswara: Mapped[bool] = mapped_column(Boolean, default=False)  # the LAN title
    external: Mapped[bool] = mapped_column(Boolean, default=False)  # from outside the agency
    added_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Enrolment(Base):
    __tablename__ = "enrolment"
    __table_args__ = (
        UniqueConstraint("run_id", "user_id"),
        Index("ix_enrolment_user_status", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("course_run.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    enrolled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    enrolled_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    waitlisted_at: Mapped[dt.datetime | None]  # joined the waiting list: its place in the queue


class RunEdit(Base):
    """One change to a run (angkatan): who changed which field, from what to what (like
    CourseEdit); staff added or removed are recorded here too."""

    __tablename__ = "run_edit"
    __table_args__ = (Index("ix_run_edit_run_at", "run_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("course_run.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)


class UploadSession(Base):
    """A browser upload in progress: S3 multipart straight from the browser, resumable by id."""

    __tablename__ = "upload_session"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, given to the browser
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    storage_key: Mapped[str] = mapped_column(String(512))
    upload_id: Mapped[str | None] = mapped_column(String(1024))  # the S3 multipart upload id
    part_size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, completed, aborted
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
