"""The officers' page of the xAPI queue: is sending on, to which LRS (never its credentials),
how many statements wait, went, failed, and the last error. Retrying uses the outbox page's
"retry all failed" for the topic. HTML only; the rules are app.xapi.service's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from app.accounts.constants import Role
from app.auth.dependencies import SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.web.routing import Router
from app.web.templating import render
from app.xapi import service
from app.xapi.constants import TOPIC

router = Router(tags=["pages"], include_in_schema=False)

Officer = Annotated[Principal, Depends(require_roles(Role.TRAINING_OFFICER, Role.ADMIN))]


@router.get("/studio/integrations/xapi")
def xapi_queue_page(
    request: Request, db: SessionDep, settings: SettingsDep, _officer: Officer
) -> Response:
    """Counts pending/sent/failed of the statements for the LRS, the last error."""
    state = service.queue_state(db, settings)
    return render(request, "xapi/queue.html", {"state": state, "topic": TOPIC})
