"""The job queue every domain uses (huey): its backend from settings.jobs_url, the task registry,
the in-process worker of the embedded default, and the minute tick of periodic work.

Backends: "immediate" (tests: a task runs in the caller), sqlite:///path (embedded default,
consumed by a thread in each web process when jobs_in_process_worker), redis://host:port/db
(production; run `lms jobs worker`). Domains register plain functions with `task(name)` at
import time and queue them with `enqueue(name, ...)`; the huey instance is made on first use
with every registered task, so a worker process must import the domains first (`load_tasks`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab  # type: ignore[import-untyped]

from app.core.config import Settings, get_settings
from app.core.logging import job_context, new_job_id

log = logging.getLogger(__name__)

TaskFn = Callable[..., Any]

_tasks: dict[str, TaskFn] = {}
_periodic: dict[str, TaskFn] = {}  # run every minute by the consumer's scheduler
_huey: Huey | None = None
_wrappers: dict[str, Any] = {}
_lock = threading.Lock()
stopping = threading.Event()  # set while the in-process worker shuts down; long jobs yield


def make_huey(url: str) -> Huey:
    """The queue behind settings.jobs_url."""
    if url == "immediate":
        return MemoryHuey("lms", immediate=True)
    if url.startswith(("redis://", "rediss://")):
        return RedisHuey("lms", url=url)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey("lms", filename=str(path))
    raise ValueError(
        f"LMS_JOBS_URL not understood: {url!r} (immediate, sqlite:///..., redis://...)"
    )


def task(name: str) -> Callable[[TaskFn], TaskFn]:
    """Register `fn` as the queue task `name` (decorator; the function stays callable)."""

    def register(fn: TaskFn) -> TaskFn:
        _tasks[name] = fn
        return fn

    return register


def every_minute(name: str) -> Callable[[TaskFn], TaskFn]:
    """Register `fn()` to run once a minute on the queue (huey periodic task: every consumer
    with its scheduler enqueues it, so the work itself must tolerate running twice)."""

    def register(fn: TaskFn) -> TaskFn:
        _periodic[name] = fn
        return fn

    return register


def get_huey() -> Huey:
    global _huey
    with _lock:
        if _huey is None:
            huey = make_huey(get_settings().jobs_url)
            for name, fn in _tasks.items():
                _wrappers[name] = huey.task(name=name, context=True)(_logged(name, fn))
            for name, fn in _periodic.items():
                _wrappers[name] = huey.periodic_task(crontab(), name=name, context=True)(
                    _logged(name, fn, quiet=True)  # every minute: its closing line at DEBUG
                )
            _huey = huey
        return _huey


def _logged(name: str, fn: TaskFn, *, quiet: bool = False) -> TaskFn:
    """The task as huey runs it: inside a job context named after the task, with huey's task
    id (time-ordered, see enqueue) as job id: one JSON line per run, every line inside tagged."""

    def run(*args: Any, task: Any = None, **kwargs: Any) -> Any:
        with job_context(name, job_id=getattr(task, "id", None), kind="queue", quiet=quiet):
            return fn(*args, **kwargs)

    run.__name__ = getattr(fn, "__name__", name)
    return run


def reset_huey() -> None:
    """Forget the queue (tests that switch settings)."""
    global _huey
    with _lock:
        _huey = None
        _wrappers.clear()


def enqueue(name: str, *args: Any, delay: float | None = None) -> None:
    """Queue task `name` (the caller has committed what it needs); `delay` in seconds."""
    get_huey()
    wrapper = _wrappers[name]
    # A time-ordered task id: the job id in the logs, and the queue's oldest age in /metrics.
    if delay:
        wrapper.schedule(args=args, delay=delay, id=new_job_id())
    else:
        wrapper(*args, id=new_job_id())


class AfterCommitKick:
    """Queue `task` after a transaction commits, coalesced per process: at most one run asked for
    now and one trailing run per `spacing` seconds, so a burst of commits shares a run and no
    commit is left without a run queued after it. The task may run in another process (`lms jobs
    worker`), so this process cannot know when a run it asked for has started: a flag cleared by
    the run would stay set here for good and every later commit would wait for the minute tick.
    """

    def __init__(self, task: str, *, spacing: float = 0.5) -> None:
        self.task = task
        self.spacing = spacing
        self._lock = threading.Lock()
        self._sent_at = float("-inf")  # when the last immediate run was asked for
        self._trailing_at = float("-inf")  # when the queued trailing run is due

    def request(self) -> None:
        """Ask for a run now, or make sure one is queued for a moment from now."""
        now = time.monotonic()
        with self._lock:
            if now - self._sent_at >= self.spacing:
                self._sent_at, delay = now, 0.0
            elif self._trailing_at > now:
                return  # the queued trailing run comes after this commit: it covers it
            else:
                self._trailing_at = self._sent_at + self.spacing
                delay = self._trailing_at - now
        try:
            enqueue(self.task, delay=delay or None)
        except Exception:  # the queue being down must not fail the committed request
            log.exception("could not queue %s; the minute tick will run it", self.task)

    def after_commit(self, session: Any, wanted: Callable[[], bool]) -> None:
        """Request a run once `session`'s transaction commits and `wanted()` still holds (one
        request per transaction, none after a rollback)."""
        from sqlalchemy import event

        key = f"kick:{self.task}"
        if session.info.get(key):
            return
        session.info[key] = True

        def _after_commit(_session: Any) -> None:
            _session.info.pop(key, None)
            if wanted():
                self.request()

        def _after_rollback(_session: Any, _previous: object) -> None:
            _session.info.pop(key, None)

        event.listen(session, "after_commit", _after_commit, once=True)
        event.listen(session, "after_soft_rollback", _after_rollback, once=True)


def load_tasks() -> None:
    """Import every domain (through the app) so all tasks and listeners are registered."""
    import app.main  # noqa: F401 - the composition root imports every domain


# --- the in-process worker and the app's lifespan -------------------------------------------------


class InProcessWorker:
    """Huey's consumer threads inside the web process (embedded default), with its scheduler
    (delayed tasks and the minute tick). Started without the consumer's signal handlers, which
    belong to the server."""

    def __init__(self, huey: Huey) -> None:
        self.consumer = huey.create_consumer(workers=1, worker_type="thread", periodic=True,
                                             check_worker_health=False)  # fmt: skip

    def start(self) -> InProcessWorker:
        self.consumer.scheduler.start()
        for _, thread in self.consumer.worker_threads:
            thread.daemon = True
            thread.start()
        return self

    def stop(self) -> None:
        stopping.set()
        self.consumer.stop_flag.set()
        for _, thread in self.consumer.worker_threads:
            thread.join(5)
        stopping.clear()


def start_worker(settings: Settings) -> InProcessWorker | None:
    if not settings.jobs_in_process_worker or settings.jobs_url == "immediate":
        return None
    return InProcessWorker(get_huey()).start()


_startup_hooks: list[Callable[[Settings], None]] = []


def on_worker_start(hook: Callable[[Settings], None]) -> Callable[[Settings], None]:
    """Register `hook(settings)` to run when a worker starts (e.g. resume jobs a crash left)."""
    _startup_hooks.append(hook)
    return hook


def run_startup_hooks(settings: Settings) -> None:
    for hook in _startup_hooks:
        try:
            hook(settings)
        except Exception:  # a database not migrated yet must not stop the server
            log.exception("job start-up hook %s failed", getattr(hook, "__name__", hook))


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """Jobs while the web process serves: the in-process worker (if configured) and the start-up
    hooks that resume work left behind by a crash."""
    settings = get_settings()
    worker = start_worker(settings)
    if worker is not None:
        run_startup_hooks(settings)
    try:
        yield
    finally:
        if worker is not None:
            worker.stop()
