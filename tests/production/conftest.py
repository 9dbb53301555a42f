"""Production-profile tests: one stack per session (tests/production/stack.py).

Every test here is marked `production`. Without `weed`, PostgreSQL's server binaries or
`redis-server` the tests skip with the reason, except when the environment variable CI is set:
then they fail, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.production.stack import MissingTool, ProdStack, missing_tools, start_stack


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.production)


@pytest.fixture(scope="session")
def prod_stack() -> Iterator[ProdStack]:
    """PostgreSQL + Redis + SeaweedFS + two `lms serve` + one `lms jobs worker`, demo data
    loaded. Shared by every production test: a test that stops a service must start it again."""
    missing = missing_tools()
    if missing:
        reason = "production stack needs: " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        stack = start_stack()
    except MissingTool as exc:  # pragma: no cover - checked above
        pytest.skip(str(exc))
    try:
        yield stack
    finally:
        stack.stop()
        import shutil

        shutil.rmtree(stack.tmp, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On a failure, the tails of every process log of the stack go into the report."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed and "prod_stack" in getattr(item, "fixturenames", ()):
        stack = item.funcargs.get("prod_stack") if hasattr(item, "funcargs") else None  # type: ignore[attr-defined]
        if isinstance(stack, ProdStack):
            report.sections.append(("production stack logs", stack.log_tails(40)))
