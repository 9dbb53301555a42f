"""Object-level authorization: who may read or change which object.

Each rule is a small named function; loaders in `dependencies` call them so a route cannot forget.
"""

from __future__ import annotations

from app.accounts.constants import Role
from app.auth.service import Principal
from app.core.errors import Forbidden

USER_READERS = (Role.ADMIN, Role.TRAINING_OFFICER)


def can_read_user(principal: Principal, user_id: int) -> bool:
    """A user reads their own profile; admins and training officers read everyone's."""
    return principal.user_id == user_id or principal.has_any(*USER_READERS)


def ensure_can_read_user(principal: Principal, user_id: int) -> None:
    if not can_read_user(principal, user_id):
        raise Forbidden("Anda tidak berwenang melihat data pengguna ini.")
