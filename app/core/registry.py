"""Imports every domain's models so `Base.metadata` is complete (Alembic, tests, CLI).

Add a line here when a domain gains a models module.
"""

from app.accounts import models as accounts_models
from app.auth import models as auth_models
from app.core.db import Base

__all__ = ["Base", "accounts_models", "auth_models"]
