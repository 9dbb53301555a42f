"""Imports every domain's models so `Base.metadata` is complete (Alembic, tests, CLI).

Add a line here when a domain gains a models module.
"""

from app.accounts import models as accounts_models
from app.assignments import models as assignments_models
from app.audit import models as audit_models
from app.auth import models as auth_models
from app.certificates import models as certificates_models
from app.competency import models as competency_models
from app.core import invalidation as invalidation_models
from app.core.db import Base
from app.courses import models as courses_models
from app.evaluation import models as evaluation_models
from app.external_training import models as external_training_models
from app.forums import models as forums_models
from app.gradebook import models as gradebook_models
from app.jobs import models as jobs_models
from app.jp import models as jp_models
from app.live import models as live_models
from app.mentoring import models as mentoring_models
from app.notifications import models as notifications_models
from app.outbox import models as outbox_models
from app.progress import models as progress_models
from app.quizzes import models as quizzes_models
from app.siasn import models as siasn_models
from app.tte import models as tte_models

__all__ = [
    "Base",
    "accounts_models",
    "assignments_models",
    "audit_models",
    "auth_models",
    "certificates_models",
    "competency_models",
    "courses_models",
    "evaluation_models",
    "external_training_models",
    "forums_models",
    "gradebook_models",
    "invalidation_models",
    "jobs_models",
    "jp_models",
    "live_models",
    "mentoring_models",
    "notifications_models",
    "outbox_models",
    "progress_models",
    "quizzes_models",
    "siasn_models",
    "tte_models",
]
