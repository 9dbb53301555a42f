"""Locust scenario: one learner's day in an angkatan, as the browser does it (pages, then the
player's and quiz.js's JSON calls with the page's CSRF token). Run by bench/angkatan_day.py,
which seeds the data and passes it in $BENCH_ANGKATAN_PLAN (a JSON file); not meant to be run
on its own.

Each simulated user takes the next learner, lives the day once and stops; the last one to
finish ends the run. Heartbeats follow a fixed schedule from the moment playback starts (as
the player's setInterval) while the video plays in real time; a slot that passes while the
previous report is still in flight is missed, not sent later. The figures written at the end
($plan.extras_out): the send time and lateness of every heartbeat (its due slot to its send).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, events, task
from locust.exception import StopUser

sys.path.insert(0, str(Path(__file__).resolve().parent))
from angkatan_day import answer_kind  # the runner's answer rule, one copy

PLAN: dict[str, Any] = json.loads(Path(os.environ["BENCH_ANGKATAN_PLAN"]).read_text())
_next_learner = itertools.count()
FIGURES: dict[str, Any] = {"beats": [], "late_ms": [], "started": 0, "finished": 0,
                           "stopped": 0, "passed": 0, "video_incomplete": 0}  # fmt: skip
T0 = time.time()

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
FIELDSET = re.compile(
    r'<fieldset class="question"[^>]*data-question-id="(\d+)" data-type="(\w+)" '
    r'data-position="(\d+)"(.*?)</fieldset>',
    re.S,
)
CHOICE = re.compile(r'<input type="(?:radio|checkbox)" name="q\d+" value="([^"]+)"[^>]*>\s*'
                    r"<span>(.*?)</span>", re.S)  # fmt: skip


class DayFailed(Exception):
    """A step the rest of the day depends on did not work (already counted as a failure)."""


def _answer(qtype: str, body: str, kind: str) -> dict[str, Any]:
    """The JSON answer to one question: right, or wrong (blank questions are not sent)."""
    right = kind == "right"
    if qtype in ("single", "multiple"):
        choices = CHOICE.findall(body)
        good = [cid for cid, text in choices if "tepat" in text]
        bad = [cid for cid, text in choices if "keliru" in text]
        return {"choice_ids": good if right else bad[:1]}
    if qtype == "truefalse":
        return {"choice_ids": ["true" if right else "false"]}
    if qtype == "short":
        return {"text": "SPBE" if right else "salah"}
    return {"text": "20" if right else "99"}  # numeric


class Learner(FastHttpUser):
    """One ASN on the day of the angkatan."""

    network_timeout = 120.0
    connection_timeout = 60.0

    def on_start(self) -> None:
        self.learner = next(_next_learner)
        self.csrf = ""
        # Each learner behind the agency's proxy from its own address (LMS_TRUST_FORWARDED_FOR).
        n = self.learner + 1
        self.headers = {"X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
                        "User-Agent": "Mozilla/5.0 (Linux; Android 13) bench-angkatan"}  # fmt: skip

    # --- one request ----------------------------------------------------------------------------

    def call(self, method: str, path: str, name: str, *, expect: int = 200,
             json_body: Any = None, form: dict[str, str] | None = None,
             headers: dict[str, str] | None = None, fatal: bool = True) -> Any:  # fmt: skip
        """One request, a failure unless it answers `expect` (redirects are not followed). A
        failed `fatal` request ends the learner's day; others return None (the player and
        quiz.js send again with the next report)."""
        all_headers = self.headers | (headers or {})
        kwargs: dict[str, Any] = {"name": name, "headers": all_headers, "allow_redirects": False,
                                  "catch_response": True}  # fmt: skip
        if json_body is not None:
            kwargs["json"] = json_body
            all_headers["X-CSRF-Token"] = self.csrf
        if form is not None:
            kwargs["data"] = form
        with self.client.request(method, path, **kwargs) as response:
            if response.status_code != expect:
                text = (response.text or "")[:200] if response.text else ""
                response.failure(f"{response.status_code} (expected {expect}): {text}")
                if fatal:
                    raise DayFailed(name)
                return None
            response.success()
            return response

    def page(self, path: str, name: str) -> str:
        """A page; its CSRF token (meta) is what the page's scripts send."""
        text = self.call("GET", path, name).text or ""
        if match := CSRF_META.search(text):
            self.csrf = match.group(1)
        return text

    def think(self) -> None:
        gevent.sleep(random.uniform(0.5, 1.5) * PLAN["think_seconds"])

    # --- the day --------------------------------------------------------------------------------

    @task
    def day(self) -> None:
        FIGURES["started"] += 1
        try:
            self.log_in()
            self.think()
            self.page(f"/courses/{PLAN['course_id']}", "/courses/[id] (course page)")
            self.think()
            self.watch_video()
            self.think()
            self.read_pdf()
            self.think()
            self.post_test()
            self.page("/sertifikat", "/sertifikat (my certificates)")
            self.page("/", "/ (dashboard)")
        except DayFailed:
            FIGURES["stopped"] += 1
        else:
            FIGURES["finished"] += 1
        if FIGURES["finished"] + FIGURES["stopped"] >= PLAN["learners"]:
            gevent.spawn_later(1.0, self.environment.runner.quit)
        raise StopUser()

    def log_in(self) -> None:
        text = self.call("GET", "/login", "/login (form)").text or ""
        match = CSRF_FIELD.search(text)
        if not match:
            raise DayFailed("no CSRF token on /login")
        nip = PLAN["nips"][self.learner]
        self.call("POST", "/login", "/login (POST)", expect=303,
                  form={"username": nip, "password": PLAN["password"], "next": "/",
                        "csrf_token": match.group(1)})  # fmt: skip
        self.page("/", "/ (dashboard)")

    def watch_video(self) -> None:
        """The player page, the file, then heartbeats on the fixed schedule until the end."""
        vid = PLAN["video_id"]
        self.page(f"/activities/{vid}", "/activities/[id] (video player)")
        self.call("GET", f"/api/v1/activities/{vid}/content", "/api/v1/activities/[id]/content "
                  "(video)", expect=206, headers={"Range": "bytes=0-"})  # fmt: skip
        url, name = f"/api/v1/activities/{vid}/progress", "/api/v1/activities/[id]/progress"
        length, every = PLAN["video_seconds"], PLAN["beat_seconds"]
        started = last = time.monotonic()
        self.call("POST", url, name + " (play)", json_body={
            "event": "heartbeat", "position_seconds": 0, "duration_seconds": length,
            "active_seconds": 0})  # fmt: skip
        k = 1
        while k * every < length:
            due = started + k * every
            gevent.sleep(max(0.0, due - time.monotonic()))
            now = time.monotonic()
            FIGURES["late_ms"].append((now - due) * 1000)
            FIGURES["beats"].append(time.time() - T0)
            position = min(length, round(now - started, 1))
            if self.call("POST", url, name + " (heartbeat)", fatal=False, json_body={
                    "event": "heartbeat", "position_seconds": position,
                    "duration_seconds": length, "active_seconds": round(now - last, 1)}):  # fmt: skip
                last = now
            # The video plays on while a report is in flight: slots that passed meanwhile are
            # missed (counted), not sent in a burst afterwards.
            k = max(k + 1, int((time.monotonic() - started) / every) + 1)
        gevent.sleep(max(0.0, started + length - time.monotonic()))
        now = time.monotonic()
        with self.client.request("POST", url, name=name + " (ended)", catch_response=True,
                                 headers=self.headers | {"X-CSRF-Token": self.csrf},
                                 json={"event": "ended", "position_seconds": length,
                                       "duration_seconds": length,
                                       "active_seconds": round(now - last, 1)}) as response:  # fmt: skip
            status = response.json().get("status") if response.status_code == 200 else None
            if status != "completed":
                # Watched to the end in real time, yet not credited: an error the learner sees
                # (the course stays incomplete); the day goes on to load the server as planned.
                FIGURES["video_incomplete"] += 1
                response.failure(f"{response.status_code}, video {status} after watching it all")
            else:
                response.success()

    def read_pdf(self) -> None:
        """The PDF viewer page, the file, the start mark and "viewed" 3 s later (player.js)."""
        pid = PLAN["pdf_id"]
        self.page(f"/activities/{pid}", "/activities/[id] (PDF viewer)")
        self.call("GET", f"/api/v1/activities/{pid}/content", "/api/v1/activities/[id]/content "
                  "(PDF)")  # fmt: skip
        url, name = f"/api/v1/activities/{pid}/progress", "/api/v1/activities/[id]/progress"
        self.call("POST", url, name + " (PDF start)", json_body={"event": "heartbeat",
                                                                 "active_seconds": 0})  # fmt: skip
        gevent.sleep(3.0)
        self.call("POST", url, name + " (PDF viewed)", json_body={"event": "viewed",
                                                                  "active_seconds": 3.0})  # fmt: skip

    def post_test(self) -> None:
        """Start, answer every question with autosave, submit in the window's last 20%."""
        qid = PLAN["quiz_id"]
        self.call("GET", f"/activities/{PLAN['quiz_activity_id']}", "/activities/[id] (quiz)",
                  expect=303)  # fmt: skip
        text = self.page(f"/quizzes/{qid}", "/quizzes/[id] (quiz page)")
        match = CSRF_FIELD.search(text)
        token = match.group(1) if match else self.csrf
        location = self.call("POST", f"/quizzes/{qid}/start", "/quizzes/[id]/start", expect=303,
                             form={"csrf_token": token}).headers.get("location", "")  # fmt: skip
        attempt = location.rstrip("/").rsplit("/", 1)[-1]
        if not attempt.isdigit():
            raise DayFailed(f"start went to {location!r}")
        questions = FIELDSET.findall(self.page(f"/attempts/{attempt}", "/attempts/[id] (page)"))
        if len(questions) != 50:
            raise DayFailed(f"{len(questions)} questions on the attempt page")
        window = PLAN["quiz_seconds"]
        opened = time.monotonic()
        spacing = 0.8 * window / len(questions)
        save = f"/api/v1/attempts/{attempt}/answers"
        pending: list[dict[str, Any]] = []  # answers the server does not have yet (quiz.js)
        for k, (question_id, qtype, position, body) in enumerate(sorted(
                questions, key=lambda q: int(q[2]))):  # fmt: skip
            gevent.sleep(max(0.0, opened + (k + 1) * spacing - time.monotonic()))
            kind = answer_kind(self.learner, int(position))
            if kind == "blank":
                continue
            pending.append({"question_id": int(question_id), **_answer(qtype, body, kind)})
            if self.call("PUT", save, "/api/v1/attempts/[id]/answers (autosave)", fatal=False,
                         json_body={"answers": pending}):  # fmt: skip
                pending = []
        submit_at = opened + window * random.uniform(0.8, 1.0)
        gevent.sleep(max(0.0, submit_at - time.monotonic()))
        if pending:  # quiz.js flushes its queue before it submits
            self.call("PUT", save, "/api/v1/attempts/[id]/answers (autosave)",
                      json_body={"answers": pending})  # fmt: skip
        result = self.call("POST", f"/api/v1/attempts/{attempt}/submit",
                           "/api/v1/attempts/[id]/submit", json_body={}).json()  # fmt: skip
        if result.get("state") == "graded" and result.get("passed"):
            FIGURES["passed"] += 1
        self.page(f"/attempts/{attempt}/review", "/attempts/[id]/review")


@events.quitting.add_listener
def _write_figures(environment: Any, **_kwargs: Any) -> None:
    Path(PLAN["extras_out"]).write_text(json.dumps(FIGURES))
