"""One page load on Chromium's "Fast 3G" profile with an empty cache: bytes on the wire per
resource type, largest contentful paint, and when the PDF viewer became usable. Shared by
tests/browser/test_page_weight.py and bench/page_weight.py.

The profile is the one Chrome DevTools defines (front_end/core/sdk/NetworkManager.ts, "Fast 3G",
called "3G" in newer DevTools): 1.6 Mbit/s x 0.9 down, 750 kbit/s x 0.9 up, 150 ms x 3.75 =
562.5 ms latency per request, applied through CDP `Network.emulateNetworkConditions`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import BrowserContext, Page, Response, Worker

FAST_3G = {
    "offline": False,
    "latency": 150 * 3.75,  # ms
    "downloadThroughput": 1.6 * 1000 * 1000 / 8 * 0.9,  # bytes/s
    "uploadThroughput": 750 * 1000 / 8 * 0.9,
}

# Recorded in the page from its first script on: the last LCP candidate, and the moment the PDF
# viewer says it is ready (`data-ready` on [data-pdf-viewer], app/static/js/pdf-viewer.js).
_OBSERVERS = """
window.__lcp = null; window.__pdfReady = null;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) { window.__lcp = entry.startTime; }
}).observe({ type: "largest-contentful-paint", buffered: true });
new MutationObserver(() => {
  const viewer = document.querySelector("[data-pdf-viewer]");
  if (viewer && viewer.dataset.ready && window.__pdfReady === null) {
    window.__pdfReady = { at: performance.now(), state: viewer.dataset.ready };
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-ready"] });
"""


@dataclass
class PageLoad:
    """What one throttled load of `url` cost."""

    url: str
    # (resource type, URL, bytes on the wire with headers, Content-Encoding)
    resources: list[tuple[str, str, int, str]] = field(default_factory=list)
    lcp_ms: float | None = None
    pdf_ready_ms: float | None = None
    pdf_state: str | None = None

    @property
    def total(self) -> int:
        return sum(size for _type, _url, size, _enc in self.resources)

    def by_type(self) -> dict[str, int]:
        sums: dict[str, int] = defaultdict(int)
        for kind, _url, size, _enc in self.resources:
            sums[kind] += size
        return dict(sorted(sums.items(), key=lambda item: -item[1]))

    def report(self) -> str:
        lines = [f"{self.url}: {self.total / 1000:.1f} KB transferred in {len(self.resources)} "
                 f"requests; LCP {_ms(self.lcp_ms)}"
                 + (f"; PDF viewer {self.pdf_state} at {_ms(self.pdf_ready_ms)}"
                    if self.pdf_ready_ms is not None else "")]  # fmt: skip
        for kind, size in self.by_type().items():
            lines.append(f"  {kind:<12} {size / 1000:8.1f} KB")
        for kind, url, size, encoding in sorted(self.resources, key=lambda r: -r[2]):
            lines.append(f"    {size / 1000:8.1f} KB  {kind:<10} {encoding or '-':<5} {url}")
        return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value / 1000:.2f} s"


def prepare(context: BrowserContext) -> None:
    """Install the LCP and PDF-viewer observers in every page of `context` (before loading)."""
    context.add_init_script(_OBSERVERS)


def throttled_load(
    context: BrowserContext,
    page: Page,
    url: str,
    *,
    wait_for_pdf: bool = False,
    cold: bool = True,
    timeout_ms: float = 60_000,
) -> PageLoad:
    """Load `url` in `page` on Fast 3G (the browser cache emptied first when `cold`), wait for
    the load event (and the PDF viewer when asked), and return what went over the wire."""
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    if cold:
        cdp.send("Network.clearBrowserCache")
    cdp.send("Network.emulateNetworkConditions", FAST_3G)
    seen: dict[str, dict[str, Any]] = {}

    def sent(event: dict[str, Any]) -> None:
        seen.setdefault(event["requestId"], {})["url"] = event["request"]["url"]

    def received(event: dict[str, Any]) -> None:
        entry = seen.setdefault(event["requestId"], {})
        entry["type"] = event.get("type", "Other")
        headers = {k.lower(): v for k, v in event["response"].get("headers", {}).items()}
        entry["encoding"] = headers.get("content-encoding", "")
        entry.setdefault("url", event["response"]["url"])

    def finished(event: dict[str, Any]) -> None:
        seen.setdefault(event["requestId"], {})["bytes"] = int(event["encodedDataLength"])

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.responseReceived", received)
    cdp.on("Network.loadingFinished", finished)
    # A dedicated worker's own script is fetched for the worker's target, which this session does
    # not see (it is throttled all the same): counted from Playwright's view, body size from
    # Content-Length plus the header bytes (an estimate that would count a cache hit too; the
    # player page preloads the worker, so there the CDP figures above cover it exactly).
    others: list[Response] = []

    def responded(response: Response) -> None:
        others.append(response)

    page.on("response", responded)
    workers: set[str] = set()

    def started(worker: Worker) -> None:
        workers.add(worker.url)

    page.on("worker", started)
    try:
        page.goto(url, wait_until="load", timeout=timeout_ms)
        if wait_for_pdf:
            page.wait_for_function("() => window.__pdfReady !== null", timeout=timeout_ms)
        page.wait_for_load_state("networkidle", timeout=timeout_ms)
        lcp = page.evaluate("() => window.__lcp")
        pdf = page.evaluate("() => window.__pdfReady")
    finally:
        cdp.send("Network.emulateNetworkConditions", {**FAST_3G, "latency": 0,
                 "downloadThroughput": -1, "uploadThroughput": -1})  # fmt: skip
        cdp.detach()
    load = PageLoad(url=url, lcp_ms=lcp)
    if pdf:
        load.pdf_ready_ms, load.pdf_state = float(pdf["at"]), str(pdf["state"])
    page.remove_listener("response", responded)
    page.remove_listener("worker", started)
    counted = set()
    for entry in seen.values():
        if "bytes" in entry:
            url = entry.get("url", "?")
            counted.add(url)
            kind = "Worker" if url in workers else entry.get("type", "Other")
            load.resources.append((kind, url, entry["bytes"], entry.get("encoding", "")))
    for response in others:
        if response.url in counted or response.url.startswith("data:"):
            continue
        headers = response.headers
        size = int(headers.get("content-length", "0") or 0)
        size += 17 + sum(len(k) + len(v) + 4 for k, v in headers.items())
        kind = "Worker" if response.url in workers else response.request.resource_type.title()
        load.resources.append((kind, response.url, size, headers.get("content-encoding", "")))
    return load
