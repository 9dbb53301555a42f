"""The ASGI application: middleware, error handlers, routers and static files.

`create_app()` is the factory that `lms serve` (uvicorn --factory) and the tests run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.accounts import pages as accounts_pages
from app.accounts import router as accounts_router
from app.accounts import studio as accounts_studio
from app.assignments import kind as assignments_kind  # noqa: F401 - the "assignment" kind
from app.assignments import pages as assignments_pages
from app.assignments import router as assignments_router
from app.audit import pages as audit_pages
from app.audit import router as audit_router
from app.audit import tasks as audit_tasks  # noqa: F401 - scheduled pruning
from app.audit.context import AuditContextMiddleware
from app.auth import pages as auth_pages
from app.auth import router as auth_router
from app.auth import selfservice_pages as auth_selfservice_pages
from app.auth import selfservice_router as auth_selfservice_router
from app.auth import sso_pages as auth_sso_pages
from app.auth import tasks as auth_tasks  # noqa: F401 - scheduled housekeeping
from app.certificates import pages as certificates_pages
from app.certificates import router as certificates_router
from app.certificates import service as certificates_service  # noqa: F401 - completion listeners
from app.certificates import studio as certificates_studio
from app.certificates import tasks as certificates_tasks  # noqa: F401 - issue jobs
from app.competency import pages as competency_pages
from app.competency import router as competency_router
from app.core import invalidation
from app.core.config import get_settings
from app.core.logging import RequestLogMiddleware, configure_logging
from app.courses import pages as courses_pages
from app.courses import router as courses_router
from app.courses import run_pages, run_router, studio, upload_router
from app.courses import tasks as courses_tasks  # noqa: F401 - scheduled housekeeping
from app.courses.content_origin import ContentOriginRouter
from app.evaluation import pages as evaluation_pages
from app.evaluation import router as evaluation_router
from app.external_training import pages as external_training_pages
from app.external_training import router as external_training_router
from app.forums import pages as forums_pages
from app.forums import router as forums_router
from app.gradebook import pages as gradebook_pages
from app.gradebook import router as gradebook_router
from app.jobs import queue as jobs_queue
from app.jobs import service as jobs_service  # noqa: F401 - the minute tick
from app.jp import pages as jp_pages
from app.jp import router as jp_router
from app.live import pages as live_pages
from app.live import router as live_router
from app.live import service as live_service  # noqa: F401 - the "live_session" kind
from app.mentoring import pages as mentoring_pages
from app.mentoring import router as mentoring_router
from app.notifications import delivery as notifications_delivery  # noqa: F401 - outbox handlers
from app.notifications import pages as notifications_pages
from app.notifications import router as notifications_router
from app.notifications import tasks as notifications_tasks  # noqa: F401 - reminders, digests
from app.outbox import tasks as outbox_tasks  # noqa: F401 - scheduled housekeeping
from app.privacy import pages as privacy_pages
from app.privacy import router as privacy_router
from app.privacy import tasks as privacy_tasks  # noqa: F401 - retention job
from app.quizzes import pages as quizzes_pages
from app.quizzes import reports_router
from app.quizzes import router as quizzes_router
from app.quizzes import studio as quizzes_studio
from app.quizzes import tasks as quizzes_tasks
from app.siasn import pages as siasn_pages
from app.siasn import router as siasn_router
from app.siasn import tasks as siasn_tasks  # noqa: F401 - the push job, JP listener
from app.targets import pages as targets_pages
from app.targets import router as targets_router
from app.tte import pages as tte_pages
from app.tte import router as tte_router
from app.web import compression, errors, pages, security
from app.web import i18n as web_i18n
from app.web import metrics as web_metrics
from app.web import openapi as web_openapi
from app.web.ratelimit import ApiRateLimitMiddleware
from app.web.static import HashedStaticFiles
from app.xapi import delivery as xapi_delivery  # noqa: F401 - outbox handler
from app.xapi import listeners as xapi_listeners  # noqa: F401 - learning events
from app.xapi import pages as xapi_pages
from app.xapi import tasks as xapi_tasks  # noqa: F401 - hourly revival


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Every domain's background work while the app serves: the cache invalidation feed, the quiz
    sweep, and the job worker (certificate jobs, the outbox, scheduled jobs) with its start-up
    hooks."""
    async with invalidation.lifespan(app), quizzes_tasks.lifespan(app), jobs_queue.lifespan(app):
        yield


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title=f"LMS Diklat ASN — {settings.institution_name}",
        version="1",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # security.install_docs: Swagger UI from static/vendor, no inline script
        redoc_url=None,
        lifespan=lifespan,  # quiz sweep thread + job worker
    )
    errors.install(app)
    web_openapi.install(app)  # the real error shape in /api/v1/openapi.json
    app.include_router(web_metrics.router)  # /metrics: token or internal address, else 404
    security.install_docs(app)
    for module in (
        auth_router,
        auth_selfservice_router,
        accounts_router,
        courses_router,
        run_router,
        upload_router,
        quizzes_router,
        reports_router,
        evaluation_router,
        jp_router,
        certificates_router,
        competency_router,
        mentoring_router,
        live_router,
        assignments_router,
        external_training_router,
        gradebook_router,
        forums_router,
        targets_router,
        tte_router,
        notifications_router,
        privacy_router,
        audit_router,
        siasn_router,
    ):
        app.include_router(module.router)
    for module in (
        auth_pages,
        auth_sso_pages,
        auth_selfservice_pages,
        accounts_pages,
        accounts_studio,
        courses_pages,
        run_pages,
        studio,
        quizzes_pages,
        quizzes_studio,
        evaluation_pages,
        certificates_pages,
        certificates_studio,
        competency_pages,
        mentoring_pages,
        live_pages,
        assignments_pages,
        external_training_pages,
        gradebook_pages,
        forums_pages,
        jp_pages,
        targets_pages,
        tte_pages,
        notifications_pages,
        privacy_pages,
        audit_pages,
        siasn_pages,
        xapi_pages,
        web_i18n,
        pages,
    ):
        app.include_router(module.router)
    app.mount("/static", HashedStaticFiles(), name="static")
    # Requests for LMS_CONTENT_ORIGIN's host reach only the SCORM content app (no cookies).
    app.add_middleware(ContentOriginRouter)
    app.add_middleware(AuditContextMiddleware)  # address + request id for audit entries
    app.add_middleware(ApiRateLimitMiddleware)
    app.add_middleware(web_i18n.LocaleMiddleware)
    app.add_middleware(compression.CompressionMiddleware)  # text bodies: brotli or gzip
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(security.SecurityHeadersMiddleware)
    app.add_middleware(web_metrics.MetricsMiddleware)  # outermost: times every request
    return app
