"""axe-core in the Chromium tests: WCAG 2.1 A/AA rules on the page as the user sees it.

`assert_accessible(page)` injects the vendored axe.min.js (tests/browser/vendor) and fails with
each serious or critical violation, its rule, help text and the offending elements.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")


def install_axe(context: BrowserContext) -> None:
    """Load axe-core into every page of `context` before the page's own scripts: cheaper than
    injecting it into each page when many pages are checked (the crawl, test_crawl.py)."""
    context.add_init_script(path=str(AXE))


def axe_violations(page: Page, *, include_minor: bool = False) -> list[dict[str, Any]]:
    """axe-core's violations of WCAG 2.1 A/AA on the current page (serious and critical only,
    unless include_minor)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluate, not add_script_tag: an inline <script> is refused by the site's CSP.
        page.evaluate(AXE.read_text())
    result: dict[str, Any] = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, "
        "resultTypes: ['violations']})",
        WCAG_TAGS,
    )
    violations: list[dict[str, Any]] = result["violations"]
    if include_minor:
        return violations
    return [v for v in violations if v.get("impact") in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n.get("target", []))) for n in v.get("nodes", [])[:5]]
        lines.append(f"- {v['id']} ({v.get('impact')}): {v.get('help')} → {targets}")
    return "\n".join(lines)


def assert_accessible(page: Page, context: str = "") -> None:
    """Fail when axe-core finds a serious or critical WCAG 2.1 A/AA violation."""
    found = axe_violations(page)
    assert not found, f"axe-core on {context or page.url}:\n{describe(found)}"


def assert_fits_and_accessible(page: Page, what: str) -> None:
    """No sideways scrolling (the page is no wider than its viewport, e.g. a 360 px phone) and
    no serious or critical axe-core violation."""
    from tests.browser.helpers import page_widths

    width, viewport = page_widths(page)
    assert width <= viewport, f"{what}: {width}px wide on a {viewport}px screen"
    assert_accessible(page, what)
