"""Printed activation letters for ASN without e-mail or phone: one A4 page per ASN (name, NIP,
OPD, a short one-time code, a QR code to the activation link, plain Indonesian instructions),
one PDF per OPD, made by a background job with progress counters for the officer's page.

The codes and link tokens are made inside the job, so the raw secrets exist only in the PDFs;
the page text that is the same on every letter is drawn once per PDF as a form XObject.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby

import segno
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.accounts import repository
from app.accounts.models import ActivationLetterFile, ActivationLetterJob
from app.accounts.service import ProfileView, profiles
from app.auth import selfservice  # the auth domain owns the secrets
from app.core import clock
from app.core.config import Settings, get_settings
from app.core.db import session_scope, utcnow
from app.core.errors import Conflict, NotFound
from app.core.i18n import gettext_ as _
from app.jobs import queue
from app.storage import get_storage

log = logging.getLogger(__name__)

LETTER_TASK = "accounts.activation_letters"
PDF_CONTENT_TYPE = "application/pdf"
NO_OPD = "TANPA-OPD"
PROGRESS_EVERY = 100  # pages between progress writes

PAGE_W, PAGE_H = 210 * mm, 297 * mm  # A4 portrait
LEFT, RIGHT = 22 * mm, 210 * mm - 22 * mm
SANS, BOLD = "LmsSans", "LmsSans-Bold"


@dataclass(frozen=True, slots=True)
class Letter:
    """What one letter prints; the code and URL are secrets made by the job."""

    name: str
    nip: str
    opd: str
    code: str  # display form, XXXX-XXXX
    url: str  # the activation link with a full token (the QR code)


def nip_display(nip: str) -> str:
    """'198503152010011001' -> '19850315 201001 1 001', the way NIPs are printed."""
    if len(nip) != 18:
        return nip
    return f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}"


# --- rendering ----------------------------------------------------------------------------------


def _register_fonts() -> None:
    # The certificate renderer vendors DejaVu (every Latin name prints) and caches its subsets.
    from app.certificates.pdf import register_fonts

    register_fonts()


def _wrapped(c: Canvas, text: str, x: float, y: float, width: float, *, font: str = SANS,
             size: float = 10.5, leading: float = 14.5) -> float:  # fmt: skip
    """Draw a paragraph wrapped to `width`; return the y below it."""
    c.setFont(font, size)
    for line in simpleSplit(text, font, size, width):
        c.drawString(x, y, line)
        y -= leading
    return y


def _static_page(c: Canvas, *, institution: str, base_url: str, expires_on: dt.date,
                 min_length: int) -> float:  # fmt: skip
    """Everything the same on every letter of the PDF, drawn once as a form; returns the top
    of the code box (its height depends on how the greeting wrapped)."""
    c.beginForm("letter")
    c.setFillColorRGB(0.1, 0.2, 0.4)
    c.setFont(BOLD, 13)
    c.drawString(LEFT, PAGE_H - 22 * mm, institution)
    c.setFont(SANS, 9.5)
    c.drawString(LEFT, PAGE_H - 27.5 * mm, "LMS Diklat ASN · " + base_url)
    c.setStrokeColorRGB(0.1, 0.2, 0.4)
    c.setLineWidth(1.2)
    c.line(LEFT, PAGE_H - 31 * mm, RIGHT, PAGE_H - 31 * mm)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(BOLD, 16)
    c.drawString(LEFT, PAGE_H - 44 * mm, "SURAT AKTIVASI AKUN LMS DIKLAT ASN")
    c.setFont(SANS, 10.5)
    for label, row in (("Nama", 0), ("NIP", 1), ("OPD", 2)):
        c.drawString(LEFT, PAGE_H - (56 + row * 7) * mm, label)
        c.drawString(LEFT + 18 * mm, PAGE_H - (56 + row * 7) * mm, ":")
    width = RIGHT - LEFT
    y = _wrapped(
        c,
        f"{institution} telah membuatkan akun LMS Diklat ASN untuk Anda. Di LMS Anda mengikuti "
        "pelatihan daring, melihat capaian JP, dan mengunduh sertifikat. Aktifkan akun Anda "
        f"paling lambat {clock.tanggal(expires_on)}.",
        LEFT, PAGE_H - 84 * mm, width,
    )  # fmt: skip
    # The code box: the code itself is drawn per page, inside it.
    box_top = y
    c.setStrokeColorRGB(0.1, 0.2, 0.4)
    c.setLineWidth(1)
    c.roundRect(LEFT, y - 40 * mm, 102 * mm, 36 * mm, 3 * mm, stroke=1, fill=0)
    c.setFont(SANS, 10)
    c.drawString(LEFT + 5 * mm, y - 11 * mm, "Kode aktivasi Anda:")
    c.setFont(SANS, 8.5)
    c.drawString(LEFT + 5 * mm, y - 35 * mm, "Ketik bersama NIP Anda. Huruf besar/kecil sama saja.")
    c.setFont(SANS, 8.5)
    _wrapped(c, "Atau pindai kode QR ini dengan kamera ponsel untuk langsung membuka halaman "
             "aktivasi.", LEFT + 112 * mm, y - 44 * mm, RIGHT - LEFT - 112 * mm, size=8.5,
             leading=11)  # fmt: skip
    y -= 56 * mm
    c.setFont(BOLD, 11.5)
    c.drawString(LEFT, y, "Cara mengaktifkan akun")
    y -= 7 * mm
    steps = (
        f"Buka {base_url}/activate di peramban (browser) ponsel atau komputer, atau pindai kode "
        "QR di atas.",
        'Pilih "Aktivasi dengan NIP dan kode", lalu ketik NIP dan kode aktivasi pada surat ini.',
        f"Buat kata sandi baru: minimal {min_length} karakter, bukan kata sandi yang umum "
        "dipakai, dan tidak memuat NIP Anda. Contoh yang kuat: tiga atau empat kata acak "
        "digabung.",
        "Baca dan setujui ketentuan penggunaan serta pemberitahuan privasi, lalu periksa "
        "alamat email dan nomor HP (WhatsApp) Anda.",
        "Selesai. Masuk dengan NIP dan kata sandi baru Anda.",
    )
    for number, step in enumerate(steps, start=1):
        c.setFont(BOLD, 10.5)
        c.drawString(LEFT, y, f"{number}.")
        y = _wrapped(c, step, LEFT + 7 * mm, y, width - 7 * mm) - 2.5 * mm
    y -= 3 * mm
    c.setFillColorRGB(0.55, 0.1, 0.1)
    y = _wrapped(
        c,
        "Kode ini rahasia dan hanya dapat dipakai satu kali. Jangan berikan kepada siapa pun, "
        f"termasuk petugas. Kode berlaku sampai {clock.tanggal(expires_on)}; setelah itu minta surat "
        "baru kepada pengelola diklat.",
        LEFT, y, width, font=BOLD, size=10,
    )  # fmt: skip
    c.setFillColorRGB(0.3, 0.3, 0.3)
    c.setFont(SANS, 8.5)
    c.drawString(LEFT, 18 * mm, f"{institution} · Pertanyaan: hubungi pengelola diklat di OPD "
                 "Anda atau BKPSDM.")  # fmt: skip
    c.setFillColorRGB(0, 0, 0)
    c.endForm()
    return box_top


_DARK_RUN = re.compile(b"\x01+")


def _draw_qr(c: Canvas, url: str, left: float, top: float, side: float) -> None:
    """A vector QR code (error level M, fixed mask for speed: any mask decodes); each run of
    dark modules is one rectangle, written as raw operators."""
    matrix = segno.make(url, error="m", micro=False, mask=4, boost_error=False).matrix
    n = len(matrix)
    quiet = 2
    module = side / (n + 2 * quiet)
    ops = [f"q 1 g {left:.3f} {top - side:.3f} {side:.3f} {side:.3f} re f 0 g"]
    for row_index, row in enumerate(matrix):
        y = top - (quiet + row_index + 1) * module - 0.02
        for run in _DARK_RUN.finditer(bytes(row)):
            # A hair of overlap stops viewers drawing white seams between modules.
            ops.append(
                f"{left + (quiet + run.start()) * module:.3f} {y:.3f} "
                f"{(run.end() - run.start()) * module + 0.02:.3f} {module + 0.04:.3f} re"
            )
    ops.append("f Q")
    c._code.append("\n".join(ops))


def _fit(c: Canvas, text: str, x: float, y: float, font: str, size: float, width: float) -> None:
    """One line, shrunk to fit `width` (long names and OPD names)."""
    actual = pdfmetrics.stringWidth(text, font, size)
    c.setFont(font, size * width / actual if actual > width else size)
    c.drawString(x, y, text)


def render_letters(
    letters: Sequence[Letter], *, institution: str, base_url: str, expires_on: dt.date,
    min_length: int, on_page: Callable[[int], None] | None = None,
) -> bytes:  # fmt: skip
    """One PDF with a page per letter; `on_page(n)` is called every PROGRESS_EVERY pages."""
    _register_fonts()
    out = io.BytesIO()
    c = Canvas(out, pagesize=(PAGE_W, PAGE_H), pageCompression=1, invariant=1)
    c.setTitle(f"Surat aktivasi akun LMS Diklat ASN — {institution}")
    c.setAuthor(institution)
    box_top = _static_page(c, institution=institution, base_url=base_url,
                           expires_on=expires_on, min_length=min_length)  # fmt: skip
    for number, letter in enumerate(letters, start=1):
        c.doForm("letter")
        value_x, value_w = LEFT + 21 * mm, RIGHT - LEFT - 21 * mm
        _fit(c, letter.name, value_x, PAGE_H - 56 * mm, BOLD, 10.5, value_w)
        _fit(c, nip_display(letter.nip), value_x, PAGE_H - 63 * mm, SANS, 10.5, value_w)
        _fit(c, letter.opd, value_x, PAGE_H - 70 * mm, SANS, 10.5, value_w)
        c.setFont(BOLD, 26)
        c.drawString(LEFT + 5 * mm, box_top - 25 * mm, letter.code)
        _draw_qr(c, letter.url, LEFT + 112 * mm, box_top + 1 * mm, 40 * mm)
        c.showPage()
        if on_page is not None and number % PROGRESS_EVERY == 0:
            on_page(number)
    c.save()
    return out.getvalue()


# --- the job ------------------------------------------------------------------------------------


def create_job(session: Session, user_ids: Sequence[int], by: int | None) -> str:
    """A letter job for these users, queued once the caller's transaction commits (the worker
    must see it)."""
    wanted = list(dict.fromkeys(user_ids))
    job = ActivationLetterJob(
        id=secrets.token_hex(8), state="queued", user_ids=wanted, total=len(wanted),
        created_by_id=by, created_at=utcnow(),
    )  # fmt: skip
    repository.add(session, job)

    def _enqueue(_session: Session) -> None:
        queue.enqueue(LETTER_TASK, job.id)

    event.listen(session, "after_commit", _enqueue, once=True)
    return job.id


def retry_job(session: Session, job_id: str) -> None:
    """Run a failed job again after this transaction commits (OPDs with a PDF are kept)."""
    job = repository.get_letter_job(session, job_id)
    if job is None:
        raise NotFound(_("Pekerjaan surat aktivasi tidak ditemukan."), code="letter_job_not_found")
    if job.state != "failed":
        raise Conflict(_("Hanya pekerjaan yang gagal yang dapat diulang."), code="job_not_failed")

    def _enqueue(_session: Session) -> None:
        queue.enqueue(LETTER_TASK, job_id)

    event.listen(session, "after_commit", _enqueue, once=True)


@queue.task(LETTER_TASK)
def _run_job_task(job_id: str) -> None:
    run_job(job_id, get_settings())


# A job renders about 150 letters a second: one still "running" after this long lost its runner.
STALE_AFTER = dt.timedelta(minutes=30)


def _stale_before() -> dt.datetime:
    return utcnow() - STALE_AFTER


@queue.on_worker_start
def _resume_on_start(_settings: Settings) -> None:
    """A worker starting picks up letter jobs a crash or a lost queue message left behind."""
    with session_scope() as session:
        ids = repository.letter_jobs_to_resume(session, _stale_before())
    for job_id in ids:
        queue.enqueue(LETTER_TASK, job_id)


def _groups(people: dict[int, ProfileView], user_ids: Sequence[int]) -> list[list[ProfileView]]:
    """The job's ASN with a NIP, by OPD (code order), by name within an OPD."""
    chosen = [people[u] for u in user_ids if u in people and people[u].nip]
    chosen.sort(key=lambda p: (p.opd_code or "~", p.name.lower(), p.nip or ""))
    return [list(g) for _k, g in groupby(chosen, key=lambda p: p.opd_code)]


def run_job(job_id: str, settings: Settings | None = None) -> bool:
    """Make the letters of every OPD of the job that has no PDF yet (so a failed job can be run
    again); False when the job is gone, running elsewhere or failed."""
    settings = settings or get_settings()
    with session_scope() as session:
        if not repository.claim_letter_job(session, job_id, utcnow(), _stale_before()):
            return False
        job = repository.get_letter_job(session, job_id)
        assert job is not None
        user_ids = list(job.user_ids)
        done_opds = {f.opd_code for f in repository.letter_files(session, job_id)}
        people = profiles(session, user_ids)
    try:
        done = 0
        for group in _groups(people, user_ids):
            code = group[0].opd_code or NO_OPD
            if code in done_opds:
                done += len(group)
                continue
            prepared = selfservice.prepare_secrets(
                [(p.user_id, p.nip) for p in group], selfservice.ACTIVATION, "letter", settings,
                with_code=True,
            )  # fmt: skip
            letters = [
                Letter(
                    name=p.name,
                    nip=p.nip or "",
                    opd=p.opd_name or "—",
                    code=selfservice.display_code(prepared.issued[p.user_id].code or ""),
                    url=selfservice.activation_url(prepared.issued[p.user_id].token, settings),
                )
                for p in group
            ]
            expires = next(iter(prepared.issued.values())).expires_at
            base = done

            def progress(pages: int, base: int = base) -> None:
                with session_scope() as own:
                    repository.set_letter_progress(own, job_id, base + pages)

            pdf = render_letters(
                letters, institution=settings.institution_name,
                base_url=settings.base_url.rstrip("/"), expires_on=clock.local_date(expires),
                min_length=settings.password_min_length, on_page=progress,
            )  # fmt: skip
            storage = get_storage(settings)
            stored = storage.put(
                storage.new_key("activation-letters"), io.BytesIO(pdf),
                content_type=PDF_CONTENT_TYPE,
            )  # fmt: skip
            done += len(group)
            with session_scope() as session:
                selfservice.save_secrets(session, prepared)
                repository.add(
                    session,
                    ActivationLetterFile(
                        job_id=job_id,
                        opd_code=group[0].opd_code,
                        opd_name=group[0].opd_name,
                        letters=len(group),
                        storage_key=stored.key,
                        size=stored.size,
                    ),
                )
                repository.set_letter_progress(session, job_id, done)
        with session_scope() as session:
            repository.finish_letter_job(session, job_id, "done", None, utcnow())
        return True
    except Exception as exc:
        log.exception("activation letter job %s failed", job_id)
        with session_scope() as session:
            repository.finish_letter_job(session, job_id, "failed", str(exc)[:2000], utcnow())
        return False


# --- reading a job ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LetterFileView:
    id: int
    opd_code: str
    opd_name: str
    letters: int
    size: int
    file_name: str


@dataclass(frozen=True, slots=True)
class LetterJobView:
    id: str
    state: str
    total: int
    done: int
    percent: int
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    files: list[LetterFileView]

    @property
    def running(self) -> bool:
        return self.state in ("queued", "running")


def state_labels() -> dict[str, str]:
    return {
        "queued": _("Menunggu giliran"),
        "running": _("Sedang dibuat"),
        "done": _("Selesai"),
        "failed": _("Gagal"),
    }


def _file_name(opd_code: str | None, job_id: str) -> str:
    return f"surat-aktivasi-{(opd_code or NO_OPD).lower()}-{job_id[:6]}.pdf"


def job_view(session: Session, job_id: str) -> LetterJobView:
    job = repository.get_letter_job(session, job_id)
    if job is None:
        raise NotFound(_("Pekerjaan surat aktivasi tidak ditemukan."), code="letter_job_not_found")
    files = [
        LetterFileView(
            f.id,
            f.opd_code or NO_OPD,
            f.opd_name or _("Tanpa OPD"),
            f.letters,
            f.size,
            _file_name(f.opd_code, job_id),
        )
        for f in repository.letter_files(session, job_id)
    ]
    done = job.total if job.state == "done" else min(job.done_count, job.total)
    return LetterJobView(
        id=job.id, state=job.state, total=job.total, done=done,
        percent=100 if job.state == "done" else int(100 * done / job.total) if job.total else 0,
        error=job.error, created_at=job.created_at, finished_at=job.finished_at, files=files,
    )  # fmt: skip


def letter_file(session: Session, job_id: str, file_id: int) -> tuple[str, str]:
    """(storage key, download name) of one OPD's PDF of a job."""
    row = repository.get_letter_file(session, job_id, file_id)
    if row is None:
        raise NotFound(_("Berkas surat aktivasi tidak ditemukan."), code="letter_file_not_found")
    return row.storage_key, _file_name(row.opd_code, job_id)
