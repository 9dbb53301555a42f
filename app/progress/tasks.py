"""Queued progress work: completions worked out again after a course's requirements changed
(many learners; the request only queues it). Registered through app.courses.tasks."""

from __future__ import annotations

from app.jobs import queue
from app.progress import service


@queue.task(service.RECOMPUTE_TASK)
def recompute_requirements(run_ids: list[int]) -> None:
    service.recompute_runs(run_ids)
