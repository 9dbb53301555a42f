"""A crawl of everything each demo role can reach, on a 360 px phone.

For every demo role (README's table: admin, training officer, content admin, the mentor who is
also kepala OPD and learner, the learner), and once signed out, the crawl signs in through the
form and walks the site breadth-first from "/", following same-origin `<a href>` links. On every
HTML page it checks:

- axe-core finds no serious or critical WCAG 2.1 A/AA violation (tests/browser/a11y.py);
- the page is no wider than the 360 px viewport;
- every link the page shows answers below 400 to this role (downloads such as PDF, ZIP, CSV or
  XLSX are requested, never opened, and only their status is checked).

Links that end the session (logout) or leave the site are not followed, and pages that repeat a
route pattern (numbers and UUIDs in the path become {id}) are visited at most PER_PATTERN times,
so the crawl stays within PAGES_PER_ROLE pages and ROLE_SECONDS per role. Every problem across the
whole crawl is collected and reported at once, grouped by problem; the full list is also written
to test-artifacts/crawl.txt.

The crawl has its own server and demo database (started for this module), so its page views
(which record reading progress) never meet the other browser tests' data, and their data never
changes what the crawl sees. The learners first join every open run (through the course page's
form, a set-up step) so the crawl sees the course player as they do. axe-core is loaded into
every page as an init script (faster than injecting it per page); the whole crawl takes about
three minutes on two cores.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urldefrag, urlencode, urlsplit, urlunsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.browser.a11y import axe_violations, install_axe
from tests.browser.conftest import LiveServer, demo_server
from tests.browser.helpers import (
    ADMIN,
    ARTIFACTS,
    CONTENT_ADMIN,
    LEARNER,
    MENTOR,
    PHONE,
    TRAINING_OFFICER,
    Account,
    login,
    overflowing_elements,
    page_widths,
)
from tests.mailsink import MailSink
from tests.wagateway import WhatsAppGateway

pytestmark = pytest.mark.browser

PER_PATTERN = 2  # pages visited per route pattern (e.g. /courses/{id})
# Patterns whose pages differ by more than their id: an activity is a video, a PDF, a page, a
# SCORM package, a quiz... (the demo courses hold every kind among their first 14 activities).
PER_PATTERN_OVERRIDES = {"/activities/{id}": 14}
PAGES_PER_ROLE = 150
ROLE_SECONDS = 90.0  # per role; the count of pages visited is reported either way
# Learners are enrolled first (a set-up step, through the course page's form), so the crawl
# reaches the course player, activities and quizzes as they do.
LEARNERS = {"mentor+opd_head+learner", "learner"}
ROLES: dict[str, Account | None] = {  # the learners' pages first: they matter most
    "learner": LEARNER,
    "mentor+opd_head+learner": MENTOR,
    "content_admin": CONTENT_ADMIN,
    "training_officer": TRAINING_OFFICER,
    "admin": ADMIN,
    "anonymous": None,  # signed out: login, verification, password and policy pages
}
# Never followed: the session's end, the language switch and sign-in pages (a signed-in user is
# sent on), and links to single sign-on providers (they leave the site).
SKIP_PATH = re.compile(r"^/(logout|lang|login|auth/)")
SKIP_PATH_SIGNED_OUT = re.compile(r"^/(logout|lang|login/sso|auth/)")
SIGNED_OUT_START = ("/", "/verify")
HTML = "text/html"
# Path segments that stand for one thing among many: numbers, UUIDs, tokens, and codes such as
# `literasi_digital`, `run_closing` or `outbox.purge_done`.
ID_SEGMENT = re.compile(
    r"^(\d+|[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|[A-Za-z0-9_-]{24,}"
    r"|\w+[._]\w+(\.\w+)*)$",
    re.IGNORECASE,
)
EXCEPTION_LINE = re.compile(r"^[\w.]*(Error|Exception)\b.*$", re.MULTILINE)


@dataclass(slots=True)
class Crawl:
    """One role's walk: what was visited, the links' answers and the problems found."""

    role: str
    origin: str
    skip: re.Pattern[str] = SKIP_PATH
    queue: deque[str] = field(default_factory=deque)
    queued: set[str] = field(default_factory=set)
    per_pattern: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    link_status: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    visited: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (page, problem)
    stopped: str = ""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    scrolling: list[str] = field(default_factory=list)  # pages with a table scrolling sideways

    def problem(self, page: str, text: str) -> None:
        self.problems.append((page, text))


def normalise(url: str) -> str:
    """The URL without its fragment, with its query sorted (one identity per page)."""
    url, _fragment = urldefrag(url)
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))


def pattern(url: str) -> str:
    """The route pattern of a URL: ids in the path become {id}; query values are dropped."""
    parts = urlsplit(url)
    path = "/".join("{id}" if ID_SEGMENT.match(s) else s for s in parts.path.split("/"))
    keys = sorted({k for k, _v in parse_qsl(parts.query, keep_blank_values=True)})
    return path + ("?" + "&".join(keys) if keys else "")


def relative(url: str, origin: str) -> str:
    return url[len(origin) :] if url.startswith(origin) else url


def check_link(crawl: Crawl, page: Page, url: str) -> tuple[int, str, str]:
    """The status, content type and final URL (after redirects) a link answers to this role,
    asked once per URL with the role's cookies."""
    if url not in crawl.link_status:
        try:
            response = page.request.get(url, max_redirects=10, timeout=20_000)
            answer = (response.status, response.headers.get("content-type", ""),
                      normalise(response.url))  # fmt: skip
            response.dispose()
        except PlaywrightError as exc:
            answer = (599, f"error: {str(exc).splitlines()[0]}", url)
        crawl.link_status[url] = answer
    return crawl.link_status[url]


def enqueue(crawl: Crawl, url: str) -> None:
    if url in crawl.queued:
        return
    key = pattern(url)
    if crawl.per_pattern[key] >= PER_PATTERN_OVERRIDES.get(key, PER_PATTERN):
        return
    crawl.per_pattern[key] += 1
    crawl.queued.add(url)
    crawl.queue.append(url)


def visit(crawl: Crawl, page: Page, url: str) -> None:
    """One HTML page: its status, width, axe-core and the answers of the links it shows."""
    here = relative(url, crawl.origin)
    clock = time.monotonic()
    try:
        response = page.goto(url, wait_until="load", timeout=20_000)
    except PlaywrightError as exc:
        crawl.problem(here, f"did not load: {str(exc).splitlines()[0]}")
        return
    if response is None:
        return
    if response.status >= 400:
        crawl.problem(here, f"answers {response.status}")
        return
    if not page.url.startswith(crawl.origin) or HTML not in response.headers.get(
        "content-type", ""
    ):
        return
    crawl.visited.append(here)
    crawl.timings["load"] += time.monotonic() - clock
    clock = time.monotonic()
    width, viewport = page_widths(page)
    if width > viewport:
        culprits = ", ".join(overflowing_elements(page, viewport)[:6])
        crawl.problem(here, f"{width}px wide on a {viewport}px screen ({culprits})")
    for violation in axe_violations(page):
        targets = [" ".join(map(str, n.get("target", []))) for n in violation["nodes"][:4]]
        crawl.problem(
            here, f"axe {violation['id']} ({violation['impact']}): {violation['help']} → {targets}"
        )
    if page.evaluate(
        "() => [...document.querySelectorAll('.table-wrap')]"
        ".some((box) => box.scrollWidth > box.clientWidth + 1)"
    ):
        crawl.scrolling.append(here)
    crawl.timings["axe"] += time.monotonic() - clock
    clock = time.monotonic()
    hrefs: list[str] = page.eval_on_selector_all("a[href]", "links => links.map((a) => a.href)")
    for href in dict.fromkeys(hrefs):
        if not href.startswith(crawl.origin):
            continue  # other sites, mailto:, tel:, javascript:
        link = normalise(href)
        path = urlsplit(link).path
        if crawl.skip.match(path):
            continue
        status, content_type, final = check_link(crawl, page, link)
        if status >= 400:
            crawl.problem(here, f"link {relative(link, crawl.origin)} answers {status}")
        elif (
            HTML in content_type
            and final.startswith(crawl.origin)  # a redirect may lead elsewhere on the site
            and not crawl.skip.match(urlsplit(final).path)
            and not path.startswith("/static/")
        ):
            enqueue(crawl, final)
    crawl.timings["links"] += time.monotonic() - clock


def enrol_in_every_open_run(page: Page) -> None:
    """Set-up, not crawl: the learner joins the first open run of each course in the catalogue."""
    page.goto("/courses")
    courses = page.eval_on_selector_all(
        'main a[href^="/courses/"]', "links => [...new Set(links.map((a) => a.pathname))]"
    )
    for course in courses:
        page.goto(course)
        join = page.get_by_role("button", name="Daftar ke angkatan ini")
        if join.count():
            join.first.click()
            page.wait_for_load_state("load")


def crawl_as(browser: Browser, server: LiveServer, role: str, account: Account | None) -> Crawl:
    context = browser.new_context(base_url=server.base_url, locale="id-ID", **PHONE)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    install_axe(context)
    crawl = Crawl(
        role=role, origin=server.base_url, skip=SKIP_PATH if account else SKIP_PATH_SIGNED_OUT
    )
    started = time.monotonic()
    try:
        page = context.new_page()
        if account is not None:
            try:
                login(page, account.email)
            except (AssertionError, PlaywrightError) as exc:
                raise AssertionError(f"{role} could not sign in:\n{server.log_tail()}") from exc
        if role in LEARNERS:
            enrol_in_every_open_run(page)
        for start in ("/",) if account else SIGNED_OUT_START:
            enqueue(crawl, normalise(server.base_url + start))
        deadline = time.monotonic() + ROLE_SECONDS
        while crawl.queue:
            if len(crawl.visited) >= PAGES_PER_ROLE:
                crawl.stopped = f"page limit ({PAGES_PER_ROLE}) reached, {len(crawl.queue)} queued"
                break
            if time.monotonic() > deadline:
                crawl.stopped = (
                    f"time limit ({ROLE_SECONDS:.0f} s) reached, {len(crawl.queue)} queued"
                )
                break
            visit(crawl, page, crawl.queue.popleft())
    finally:
        context.close()
        crawl.seconds = time.monotonic() - started
    return crawl


@pytest.fixture(scope="module")
def crawl_server(
    tmp_path_factory: pytest.TempPathFactory,
    _mail_server: MailSink,
    _whatsapp_server: WhatsAppGateway,
) -> Iterator[LiveServer]:
    """A server of its own with a fresh demo (like `live_server`), for this module only."""
    data_dir = tmp_path_factory.mktemp("crawl-server")
    with demo_server(data_dir, _mail_server, _whatsapp_server) as server:
        yield server


def server_errors(server: LiveServer) -> list[str]:
    """The exceptions the server logged (last line of each traceback), most frequent first."""
    try:
        log = server.log_path.read_text(errors="replace")
    except OSError:
        return []
    counts: dict[str, int] = defaultdict(int)
    for line in EXCEPTION_LINE.finditer(log):
        counts[line.group(0)[:300]] += 1
    return [f"{n}× {text}" for text, n in sorted(counts.items(), key=lambda i: -i[1])]


def report(crawls: list[Crawl], seconds: float, errors: list[str]) -> tuple[str, int]:
    """A readable report: per role the pages visited, then each problem with its pages."""
    lines = [f"Crawl of {len(crawls)} roles at 360 px in {seconds:.0f} s"]
    grouped: dict[str, list[str]] = defaultdict(list)
    for crawl in crawls:
        note = f"; {crawl.stopped}" if crawl.stopped else ""
        downloads = sorted(
            {ct.split(";")[0] for st, ct, _f in crawl.link_status.values() if HTML not in ct}
        )
        lines.append(
            f"- {crawl.role}: {len(crawl.visited)} pages, {len(crawl.link_status)} links "
            f"checked in {crawl.seconds:.0f} s ("
            + ", ".join(f"{k} {v:.0f} s" for k, v in crawl.timings.items())
            + f"); other files: {', '.join(downloads) or 'none'}{note}"
        )
        for page_url, problem in crawl.problems:
            grouped[problem].append(f"{crawl.role} {page_url}")
    lines.append(f"{len(grouped)} distinct problems:")
    for problem, where in sorted(grouped.items(), key=lambda item: item[0]):
        more = f" (+{len(where) - 5} more)" if len(where) > 5 else ""
        lines.append(f"* {problem}\n    on: {', '.join(where[:5])}{more}")
    lines.append("Not a problem, for review: pages whose table scrolls sideways in its own box:")
    for crawl in crawls:
        lines.append(f"  {crawl.role}: {' '.join(crawl.scrolling) or '-'}")
    if errors:
        lines.append("Server exceptions (server.log):")
        lines.extend(f"  {e}" for e in errors[:20])
    lines.append("Pages visited:")
    for crawl in crawls:
        lines.append(f"  {crawl.role}: {' '.join(crawl.visited)}")
    return "\n".join(lines), len(grouped)


def test_every_page_every_role_can_reach_fits_a_phone_is_accessible_and_links_work(
    browser: Browser, crawl_server: LiveServer
) -> None:
    started = time.monotonic()
    crawls = [crawl_as(browser, crawl_server, role, account) for role, account in ROLES.items()]
    text, problems = report(crawls, time.monotonic() - started, server_errors(crawl_server))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "crawl.txt").write_text(text + "\n", encoding="utf-8")
    print(text)  # the page counts and times, shown with -rP or -s
    assert all(len(c.visited) > 3 for c in crawls), text  # the crawl really walked
    for crawl in crawls:  # the learners joined runs, so the crawl saw the course player
        if crawl.role in LEARNERS:
            assert any(p.startswith("/activities/") for p in crawl.visited), text
    assert problems == 0, text


def test_crawl_keys_pages_by_route_pattern_without_fragments() -> None:
    assert normalise("http://h/a/b?z=1&a=2#top") == "http://h/a/b?a=2&z=1"
    assert normalise("http://h") == "http://h/"
    assert pattern("http://h/studio/runs/12/monitor") == "/studio/runs/{id}/monitor"
    assert pattern("http://h/studio/jobs/outbox.purge_done") == "/studio/jobs/{id}"
    assert pattern("http://h/studio/competency/catalog/literasi_digital") == (
        "/studio/competency/catalog/{id}"
    )
    assert pattern("http://h/notifications?page=3&unread=1") == "/notifications?page&unread"
    assert pattern("http://h/studio/courses/1/runs") != pattern("http://h/studio/courses/1")
    assert SKIP_PATH.match("/logout") and SKIP_PATH.match("/login/sso/x")
    assert not SKIP_PATH.match("/my/courses")


def test_on_a_phone_rows_are_cards_with_their_action_in_view_and_filters_fold(
    browser: Browser, crawl_server: LiveServer
) -> None:
    for size, phone in (({"viewport": {"width": 1280, "height": 800}}, False), (PHONE, True)):
        context = browser.new_context(base_url=crawl_server.base_url, locale="id-ID", **size)  # type: ignore[arg-type]
        try:
            page = context.new_page()
            login(page, TRAINING_OFFICER.email)
            page.goto("/studio/mentoring")
            filters = page.locator("details.filter-box")
            expect(filters).to_have_js_property("open", not phone)
            action = page.get_by_role("link", name=re.compile(r"^(Buka|Verifikasi) "))
            box = action.first.bounding_box()
            assert box is not None and box["x"] + box["width"] <= page_widths(page)[1]
            if phone:
                filters.locator("summary").click()
                expect(page.get_by_label("Status")).to_be_visible()
        finally:
            context.close()
