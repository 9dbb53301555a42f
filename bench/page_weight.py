"""Page weight and load times on Chromium's "Fast 3G" profile: the learner dashboard (first visit,
empty cache) and the course player with a PDF (empty cache; after the dashboard; a second visit),
plus the CPU that compressing one page costs the server.

Starts `lms demo` + `lms serve` from a source tree (default: this repository; `--root` another
checkout, e.g. the code before a change) on loopback ports, with its data in a temporary
directory, makes a learner enrolled in both demo courses and drives Debian's chromium.

    .venv/bin/python bench/page_weight.py                      # 3 runs, medians
    .venv/bin/python bench/page_weight.py --root /tmp/before   # the same against another tree
    .venv/bin/python bench/page_weight.py --repeat 5 --details # every resource of the last run
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.page_load import PageLoad, prepare, throttled_load  # noqa: E402
from tests.ports import free_port, http_answers, stop_process  # noqa: E402

PASSWORD = "Diklat-Demo-2026"
EMAIL = "bench.pages@demo.lms.go.id"
PDF_ACTIVITY = "Panduan Saku Keamanan Informasi (PDF)"
COURSES = (("Keamanan Informasi Dasar", "Keamanan"), ("Literasi Digital untuk ASN", "Literasi"))


def _nip() -> str:
    """A valid synthetic NIP of a PNS (app/dev/seed.py)."""
    from app.dev.seed import synthetic_nip

    rng = random.Random(15)
    while True:
        nip, employment = synthetic_nip(rng, rng.randrange(999))
        if employment == "PNS":
            return nip


def _env(root: Path, data: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    env.update({
        "LMS_ENVIRONMENT": "test", "LMS_DATABASE_URL": f"sqlite:///{data / 'lms.db'}",
        "LMS_STORAGE_URL": f"file://{data / 'objects'}", "LMS_SECRET_KEY": secrets.token_hex(24),
        "LMS_BASE_URL": f"http://127.0.0.1:{port}", "LMS_LOG_LEVEL": "WARNING",
        "LMS_CONTENT_ORIGIN": f"http://localhost:{free_port()}",
        "LMS_RATE_LIMIT_ENABLED": "false", "PYTHONPATH": str(root),
    })  # fmt: skip
    return env


def _lms(env: dict[str, str], cwd: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, cwd=cwd, check=True,
                   capture_output=True, timeout=300)  # fmt: skip


@contextmanager
def demo_server(root: Path) -> Iterator[str]:
    """`lms demo` and `lms serve` from `root` with a throwaway database; yields the base URL."""
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        data, port = Path(tmp), free_port()
        env = _env(root, data, port)
        _lms(env, data, "demo")
        _lms(env, data, "users", "create", "--name", "Peserta Bench", "--nip", _nip(), "--email",
             EMAIL, "--role", "learner", "--password", PASSWORD, "--opd", "DISKOMINFO",
             "--employment", "PNS", "--pangkat", "III/a")  # fmt: skip
        with (data / "server.log").open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port",
                 str(port), "--no-migrate", "--workers", "1"],
                env=env, cwd=data, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 180
            while not http_answers(f"http://127.0.0.1:{port}/healthz"):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit((data / "server.log").read_text()[-3000:])
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_process(server)


def _login_and_enrol(page: object) -> str:
    """Sign the learner in, enrol in both courses; the PDF activity's URL."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.goto("/login")
    page.get_by_label("NIP atau email").fill(EMAIL)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/$"))
    for title, query in COURSES:
        page.goto(f"/courses?q={query}")
        page.get_by_role("link", name=title).first.click()
        enrol = page.get_by_role("button", name="Daftar ke angkatan ini")
        if enrol.count():
            enrol.click()
            page.get_by_role("status").wait_for()
    page.goto(f"/courses?q={COURSES[0][1]}")
    page.get_by_role("link", name=COURSES[0][0]).first.click()
    page.get_by_role("link", name=PDF_ACTIVITY).click()
    page.wait_for_selector("[data-pdf-viewer][data-ready]")
    return page.url


def measure(base_url: str, repeat: int) -> dict[str, list[PageLoad]]:
    results: dict[str, list[PageLoad]] = {
        "dashboard": [], "player_warm": [], "player_again": [], "player_cold": [],
    }  # fmt: skip
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu"],
        )
        try:
            for _ in range(repeat):
                context = browser.new_context(
                    base_url=base_url, locale="id-ID", viewport={"width": 360, "height": 740},
                    device_scale_factor=2, is_mobile=True, has_touch=True,
                )  # fmt: skip
                prepare(context)
                page = context.new_page()
                activity = _login_and_enrol(page)
                results["dashboard"].append(throttled_load(context, page, "/"))
                # The player straight after the dashboard: shared CSS and JS are cached.
                results["player_warm"].append(
                    throttled_load(context, page, activity, wait_for_pdf=True, cold=False)
                )
                # A second PDF visit: pdf.js and its worker are in the cache (immutable URLs).
                results["player_again"].append(
                    throttled_load(context, page, activity, wait_for_pdf=True, cold=False)
                )
                results["player_cold"].append(
                    throttled_load(context, page, activity, wait_for_pdf=True)
                )
                context.close()
        finally:
            browser.close()
    return results


def _median(values: list[float | None]) -> str:
    real = [v for v in values if v is not None]
    return f"{statistics.median(real) / 1000:.2f} s" if real else "n/a"


def report(results: dict[str, list[PageLoad]], details: bool) -> None:
    print(f"{'page':<14}{'KB (median)':>12}{'LCP':>9}{'PDF ready':>11}   by type (last run, KB)")
    for name, loads in results.items():
        kilobytes = statistics.median(load.total for load in loads) / 1000
        types = ", ".join(f"{k} {v / 1000:.1f}" for k, v in loads[-1].by_type().items())
        print(f"{name:<14}{kilobytes:>12.1f}{_median([x.lcp_ms for x in loads]):>9}"
              f"{_median([x.pdf_ready_ms for x in loads]):>11}   {types}")  # fmt: skip
    if details:
        for name, loads in results.items():
            print(f"\n{name}\n{loads[-1].report()}")


def compression_cpu(base_url: str) -> None:
    """CPU per typical response: the dashboard HTML and the OpenAPI JSON, each level."""
    import brotli

    from app.web.compression import compress

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(f"{base_url}/login") as response:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode())
    assert csrf
    form = f"username={EMAIL}&password={PASSWORD}&csrf_token={csrf[1]}".encode()
    opener.open(urllib.request.Request(f"{base_url}/login", data=form))  # noqa: S310
    bodies = {}
    for name, path in (("dashboard HTML", "/"), ("openapi.json", "/api/v1/openapi.json")):
        request = urllib.request.Request(  # noqa: S310 - loopback http:// only
            base_url + path, headers={"Accept-Encoding": "identity"}
        )
        with opener.open(request) as response:
            bodies[name] = response.read()
    variants = {
        "br 4 (used)": lambda b: compress(b, "br"),
        "gzip 6 (used)": lambda b: compress(b, "gzip"),
        "br 5": lambda b: brotli.compress(b, quality=5),
        "br 11": lambda b: brotli.compress(b, quality=11),
        "gzip 9": lambda b: zlib.compress(b, 9),
    }
    print(f"\n{'response':<16}{'variant':<15}{'bytes':>9}{'ratio':>7}{'CPU ms':>9}")
    for name, body in bodies.items():
        print(f"{name:<16}{'identity':<15}{len(body):>9}")
        for label, function in variants.items():
            rounds = 3 if label == "br 11" else 50
            started = time.process_time()
            for _ in range(rounds):
                packed = function(body)
            cost = (time.process_time() - started) / rounds * 1000
            print(f"{'':<16}{label:<15}{len(packed):>9}{len(body) / len(packed):>7.1f}{cost:>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="source tree to serve from")
    parser.add_argument("--repeat", type=int, default=3, help="runs (medians are printed)")
    parser.add_argument("--details", action="store_true", help="every resource of the last run")
    parser.add_argument("--no-cpu", action="store_true", help="skip the compression CPU figures")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; root: {args.root}")
    with demo_server(args.root.resolve()) as base_url:
        report(measure(base_url, max(1, min(args.repeat, 20))), args.details)
        if not args.no_cpu:
            compression_cpu(base_url)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
