"""Printed activation letters: one PDF per OPD made by a background job (progress page, one
download per OPD); the code read from the PDF with pdftotext activates the account with the NIP,
and the QR code carries the activation link."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from app.accounts import letters
from app.accounts.models import ActivationLetterJob
from app.auth import selfservice
from app.auth.models import AccountToken, LoginFailure
from app.core.db import session_scope, utcnow
from tests.accounts.helpers import NEW_PASSWORD, fresh, make_asn, officer_headers
from tests.factories import api_token, browser_login, csrf_from, make_opd, make_user

CODE = re.compile(r"\b([0-9A-Z]{4}-[0-9A-Z]{4})\b")


def pdf_text(data: bytes, tmp_path: Path) -> list[str]:
    """The text of each page, as pdftotext (poppler) reads it."""
    path = tmp_path / "letters.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return [page for page in out.split("\f") if page.strip()]


def code_for(pages: list[str], nip: str) -> str:
    """The activation code printed on the letter of the ASN with this NIP."""
    shown = f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}"
    (page,) = [p for p in pages if shown in p]
    match = CODE.search(page)
    assert match, page
    return match.group(1)


async def _letters_for(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> dict:  # type: ignore[type-arg]
    r = await client.post("/api/v1/users/activation", json={"channel": "letter", **body},
                          headers=headers)  # fmt: skip
    assert r.status_code == 202, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_letters_one_pdf_per_opd_and_the_code_activates(
    app, client: httpx.AsyncClient, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    officer = make_user(roles=("training_officer",), email="cetak@bkpsdm.example.go.id")
    headers = await api_token(client, officer.email or "")
    make_opd(code="DINKES", name="Dinas Kesehatan")
    make_opd(code="DINDIK", name="Dinas Pendidikan dan Kebudayaan")
    ani = make_asn(name="Ani Suryani", opd_code="DINKES")
    budi = make_asn(name="Budi Hartono", opd_code="DINKES")
    cici = make_asn(name="Cici Paramida", opd_code="DINDIK")
    body = await _letters_for(client, headers, opd_code="DINKES", user_ids=[cici.id])
    assert body["by_channel"] == {"letter": 3} and body["queued"] == 3
    job_url = body["letter_url"]

    csrf = await browser_login(client, officer.email or "")
    assert csrf
    page = await client.get(job_url)
    assert page.status_code == 200
    assert '<progress id="letters-bar" value="3" max="3">' in page.text
    assert "hx-trigger" not in page.text  # done: no more polling
    links = re.findall(r'href="(/studio/activation/letters/[0-9a-f]+/files/\d+)"', page.text)
    assert len(links) == 2
    files = {}
    for link in links:
        download = await client.get(link)
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/pdf"
        assert "no-store" in download.headers["cache-control"]
        name = re.search(r'filename="([^"]+)"', download.headers["content-disposition"])
        assert name
        files[name.group(1).split("-")[2]] = download.content
    assert set(files) == {"dinkes", "dindik"}

    dinkes = pdf_text(files["dinkes"], tmp_path)
    assert len(dinkes) == 2
    assert "Ani Suryani" in dinkes[0] and "Budi Hartono" in dinkes[1]  # by name within an OPD
    assert "Dinas Kesehatan" in dinkes[0] and "BKPSDM" in dinkes[0]
    assert "http://testserver/activate" in dinkes[0] and "kata sandi" in dinkes[0]
    with session_scope() as session:  # codes are stored keyed-hashed only
        hashes = session.scalars(select(AccountToken.code_hash)).all()
    code = code_for(dinkes, ani.nip or "")
    assert code.replace("-", "") not in " ".join(h or "" for h in hashes)

    # A code typed the way people type it: lower case, spaces, no hyphen.
    typed = code.lower().replace("-", " ")
    r = await client.post("/api/v1/auth/activate",
                          json={"nip": ani.nip, "code": typed, "password": NEW_PASSWORD})  # fmt: skip
    assert r.status_code == 204, r.text
    user = fresh(ani.id)
    assert user.activated_at and user.email_verified_at is None and user.phone_verified_at is None
    await api_token(client, ani.nip or "", NEW_PASSWORD)
    reused = await client.post("/api/v1/auth/activate",
                               json={"nip": ani.nip, "code": code, "password": NEW_PASSWORD})  # fmt: skip
    assert reused.status_code == 400

    # Budi uses the pages: NIP and code first, then the form.
    code_budi = code_for(dinkes, budi.nip or "")
    anon = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with anon:
        start = await anon.get("/activate")
        assert "Aktivasi dengan NIP dan kode" in start.text
        step = await anon.post("/activate/code", data={"csrf_token": csrf_from(start.text),
                                                       "nip": budi.nip, "code": code_budi})  # fmt: skip
        assert step.status_code == 200 and "Budi Hartono" in step.text
        done = await anon.post("/activate", data={
            "csrf_token": csrf_from(step.text), "nip": budi.nip, "code": code_budi,
            "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD, "email": "",
            "phone": "", "accept_terms": "1",
        })  # fmt: skip
        assert done.status_code == 303 and "done=activated" in done.headers["location"]
    await api_token(client, budi.nip or "", NEW_PASSWORD)


def test_the_qr_code_carries_the_activation_link(tmp_path: Path) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    url = "http://testserver/activate?token=" + "A" * 43
    pdf = letters.render_letters(
        [letters.Letter("Dewi Lestari", "199001012015032001", "Dinas Kominfo", "7KQ2-M9XD", url)],
        institution="BKPSDM Kabupaten Contoh", base_url="http://testserver",
        expires_on=dt.date(2026, 12, 13), min_length=10,
    )  # fmt: skip
    (tmp_path / "one.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / "one.pdf"),
                    str(tmp_path / "one")], check=True)  # fmt: skip
    found = zxingcpp.read_barcodes(Image.open(tmp_path / "one.png"))
    assert [b.text for b in found] == [url]
    (text,) = pdf_text(pdf, tmp_path)
    assert "7KQ2-M9XD" in text and "19900101 201503 2 001" in text
    assert "13 Desember 2026" in text


async def test_wrong_codes_are_throttled_like_logins(client: httpx.AsyncClient, settings) -> None:  # type: ignore[no-untyped-def]
    headers = await officer_headers(client)
    asn = make_asn(name="Salah Kode")
    await _letters_for(client, headers, user_ids=[asn.id])
    for _ in range(settings.login_max_failures_per_account):
        wrong = await client.post("/api/v1/auth/activate",
                                  json={"nip": asn.nip, "code": "AAAA-AAAA", "password": NEW_PASSWORD})  # fmt: skip
        assert wrong.status_code == 400
    blocked = await client.post("/api/v1/auth/activate",
                                json={"nip": asn.nip, "code": "AAAA-AAAA", "password": NEW_PASSWORD})  # fmt: skip
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    unknown = await client.post("/api/v1/auth/activate",
                                json={"nip": "199912312020121009", "code": "AAAA-AAAA",
                                      "password": NEW_PASSWORD})  # fmt: skip
    assert unknown.status_code == 400  # an unknown NIP is counted on its own key
    with session_scope() as session:
        scopes = set(session.scalars(select(LoginFailure.scope)))
    assert scopes == {"account", "address"}


async def test_the_progress_page_polls_while_the_job_runs(client: httpx.AsyncClient) -> None:
    officer = make_user(roles=("training_officer",), email="pantau@bkpsdm.example.go.id")
    await browser_login(client, officer.email or "")
    with session_scope() as session:
        session.add(ActivationLetterJob(id="abc123", state="running", user_ids=[1, 2],
                                        total=2, done_count=1, created_at=utcnow()))  # fmt: skip
    page = await client.get("/studio/activation/letters/abc123")
    assert page.status_code == 200
    assert 'hx-get="/studio/activation/letters/abc123/progress"' in page.text
    assert '<meta http-equiv="refresh"' in page.text  # inside <noscript>: works without JS
    fragment = await client.get("/studio/activation/letters/abc123/progress",
                                headers={"HX-Request": "true"})  # fmt: skip
    assert 'id="letters-progress"' in fragment.text
    assert "<html" not in fragment.text
    missing = await client.get("/studio/activation/letters/nope")
    assert missing.status_code == 404


async def test_learners_cannot_open_letters(client: httpx.AsyncClient) -> None:
    with session_scope() as session:
        session.add(ActivationLetterJob(id="def456", state="done", user_ids=[], total=0,
                                        created_at=utcnow()))  # fmt: skip
    learner = make_user(email="murid@example.go.id")
    await browser_login(client, learner.email or "")
    assert (await client.get("/studio/activation/letters/def456")).status_code == 403


def test_codes_use_an_unambiguous_alphabet_and_typing_slips_are_forgiven(settings) -> None:  # type: ignore[no-untyped-def]
    codes = {selfservice.new_code(8) for _ in range(200)}
    assert all(len(c) == 8 and not set(c) & set("ILOU") for c in codes)
    assert len(codes) == 200
    assert selfservice.display_code("7KQ2M9XD") == "7KQ2-M9XD"
    assert selfservice.normalise_code(" 7kq2-m9xd ") == "7KQ2M9XD"
    assert selfservice.normalise_code("O1IL") == "0111"
    nip = "199001012015032001"
    assert selfservice.code_hash(nip, "7kq2 m9xd", settings) == selfservice.code_hash(
        nip, "7KQ2-M9XD", settings
    )
    assert selfservice.code_hash(nip, "7KQ2-M9XD", settings) != selfservice.code_hash(
        "199001012015032002", "7KQ2-M9XD", settings
    )


async def test_a_letter_after_an_email_replaces_the_email_link(
    client: httpx.AsyncClient, mail, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from tests.accounts.helpers import ACTIVATION_LINK, token_from
    from tests.mailsink import text_of
    from tests.notifications.helpers import deliver

    headers = await officer_headers(client)
    asn = make_asn(name="Dua Saluran", email="dua@example.go.id")
    await client.post("/api/v1/users/activation", json={"user_ids": [asn.id], "channel": "email"},
                      headers=headers)  # fmt: skip
    deliver()
    (msg,) = mail.wait_for(1)
    link = token_from(ACTIVATION_LINK, text_of(msg))
    await _letters_for(client, headers, user_ids=[asn.id])
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(AccountToken)) == 1
        session.execute(update(AccountToken).values(used_at=None))
    r = await client.post("/api/v1/auth/activate", json={"token": link, "password": NEW_PASSWORD})
    assert r.status_code == 400


async def test_a_failed_job_can_be_run_again(client: httpx.AsyncClient) -> None:
    officer = make_user(roles=("training_officer",), email="ulang@bkpsdm.example.go.id")
    csrf = await browser_login(client, officer.email or "")
    asn = make_asn(name="Coba Lagi")
    with session_scope() as session:
        session.add(ActivationLetterJob(id="gagal1", state="failed", user_ids=[asn.id], total=1,
                                        error="disk penuh", created_at=utcnow()))  # fmt: skip
    page = await client.get("/studio/activation/letters/gagal1")
    assert (
        "disk penuh" in page.text
        and 'action="/studio/activation/letters/gagal1/retry"' in page.text
    )
    retried = await client.post(
        "/studio/activation/letters/gagal1/retry", data={"csrf_token": csrf}
    )
    assert retried.status_code == 303
    done = await client.get(retried.headers["location"])
    assert 'data-job-state="done"' in done.text and "/files/" in done.text
    again = await client.post("/studio/activation/letters/gagal1/retry", data={"csrf_token": csrf})
    assert again.status_code == 409


def test_a_worker_starting_resumes_letter_jobs_left_behind(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.jobs import queue

    ani = make_asn(name="Ani Suryani")
    with session_scope() as session:
        stuck = letters.create_job(session, [ani.id], None)
    queued: list[str] = []
    monkeypatch.setattr(queue, "enqueue", lambda name, *args, **kw: queued.append(args[0]))
    with session_scope() as session:
        never_started = letters.create_job(session, [ani.id], None)
        session.execute(  # its runner died an hour ago
            update(ActivationLetterJob).where(ActivationLetterJob.id == stuck)
            .values(state="running", started_at=utcnow() - dt.timedelta(hours=1))
        )  # fmt: skip
    queued.clear()
    letters._resume_on_start(None)  # type: ignore[arg-type]
    assert sorted(queued) == sorted([stuck, never_started])
    assert letters.run_job(stuck)
    with session_scope() as session:
        assert session.get(ActivationLetterJob, stuck).state == "done"  # type: ignore[union-attr]
