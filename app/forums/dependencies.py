"""Route dependencies shared by the forum API and pages: the posting rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.auth.dependencies import CurrentPrincipal, SettingsDep
from app.web import ratelimit


async def posting_limit(principal: CurrentPrincipal, settings: SettingsDep) -> None:
    """rate_limit_forum_post per account for new threads and replies (429 with Retry-After):
    a runaway script or a flood stops at the limit, a lively discussion never reaches it."""
    await ratelimit.check_async([("forum_post", "account", f"user:{principal.user_id}")], settings)


PostingLimit = Annotated[None, Depends(posting_limit)]
