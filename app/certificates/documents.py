"""A certificate's PDF document: render (pdf.py) + PAdES-sign (signing.py) + store (app/storage),
once at issue; downloads serve the stored bytes. Bulk production spreads the CPU work over a
process pool (one worker per core); the database is only touched by the calling process.
"""

from __future__ import annotations

import hashlib
import io
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.audit import service as audit
from app.certificates import keys, pdf, signing
from app.certificates import templates as cert_templates
from app.certificates.models import Certificate
from app.core.config import Settings, get_settings
from app.core.errors import NotFound
from app.storage import get_storage

log = logging.getLogger(__name__)

PDF_CONTENT_TYPE = "application/pdf"
CHUNK = 64  # certificates per task sent to a worker process


@dataclass(frozen=True, slots=True)
class StoredPdf:
    """Where a rendered, signed certificate landed."""

    key: str
    sha256: str
    size: int


def certificate_data(cert: Certificate, settings: Settings) -> pdf.CertificateData:
    """The snapshot printed on the certificate (never the live profile)."""
    return pdf.CertificateData(
        number=cert.number,
        code=cert.code,
        holder_name=cert.holder_name,
        holder_nip=cert.holder_nip,
        holder_pangkat_golongan=cert.holder_pangkat_golongan,
        holder_jabatan=cert.holder_jabatan,
        holder_opd=cert.holder_opd,
        course_code=cert.course_code,
        course_title=cert.course_title,
        run_name=cert.run_name,
        run_starts_on=cert.run_starts_on,
        run_ends_on=cert.run_ends_on,
        jp=cert.jp,
        score=cert.score,
        predikat=cert.predikat,
        issuer=cert.issuer,
        signer_name=cert.signer_name,
        signer_nip=cert.signer_nip,
        signer_jabatan=cert.signer_jabatan,
        place=cert.place,
        issued_on=cert.issued_on,
        valid_until=cert.valid_until,
        curriculum=pdf.parse_curriculum(cert.curriculum_json),
    )


def pdf_key(cert_id: int, year: int, sha256: str) -> str:
    """Storage key made by the app, never from user input: certificates/2026/123-ab12cd34ef56.pdf."""
    return f"certificates/{year}/{cert_id}-{sha256[:12]}.pdf"


def build_pdf(data: pdf.CertificateData, template: pdf.RenderTemplate, settings: Settings) -> bytes:
    """Render and sign one certificate (pure CPU; no database, no storage)."""
    return signing.get_signer(settings).sign(pdf.render(data, template, settings))


def store_pdf(cert_id: int, year: int, signed: bytes, settings: Settings) -> StoredPdf:
    sha = hashlib.sha256(signed).hexdigest()
    key = pdf_key(cert_id, year, sha)
    stored = get_storage(settings).put(key, io.BytesIO(signed), content_type=PDF_CONTENT_TYPE)
    return StoredPdf(stored.key, stored.sha256, stored.size)


def discard_pdf(key: str, settings: Settings) -> None:
    """Remove a PDF that no record points at (a render that lost a race); best effort."""
    try:
        get_storage(settings).delete(key)
    except Exception:
        log.warning("could not remove the unused certificate PDF %s", key, exc_info=True)


def produce(session: Session, cert: Certificate, settings: Settings | None = None) -> StoredPdf:
    """Render, sign and store `cert`'s PDF, then record its key, sha256 and size on the row
    (flushed). Call right after the certificate row is flushed (it needs `cert.id`)."""
    settings = settings or get_settings()
    if cert.id is None:
        session.flush()
    cert_templates.record_template(session, cert)
    template = cert_templates.render_template_for(session, cert, settings)
    signed = build_pdf(certificate_data(cert, settings), template, settings)
    stored = store_pdf(cert.id, cert.year, signed, settings)
    cert.pdf_key, cert.pdf_sha256, cert.pdf_size = stored.key, stored.sha256, stored.size
    audit.record(session, "certificate.signed", actor=None, target=("certificate", cert.id),
                 after={"pdf_sha256": stored.sha256})  # fmt: skip
    session.flush()
    return stored


def read_pdf(cert: Certificate, settings: Settings | None = None) -> bytes:
    """The stored PDF bytes (NotFound while it has not been produced)."""
    return b"".join(open_pdf(cert, settings))


def open_pdf(cert: Certificate, settings: Settings | None = None) -> Iterator[bytes]:
    """Stream the stored PDF in chunks for a download response."""
    if not cert.pdf_key:
        raise NotFound("PDF sertifikat belum tersedia.", code="certificate_pdf_missing")
    return get_storage(settings or get_settings()).open_range(cert.pdf_key)


# --- bulk ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Item:
    cert_id: int
    year: int
    template_key: str
    data: pdf.CertificateData


@dataclass(slots=True)
class BulkResult:
    """What a bulk run did; `failed` maps certificate id to the error text."""

    produced: int = 0
    failed: dict[int, str] | None = None
    seconds: float = 0.0
    workers: int = 1


def _worker_init(settings: Settings) -> None:
    # Warm every per-process cache before the first task: fonts, signer, keys.
    global _worker_settings
    _worker_settings = settings
    pdf.register_fonts()
    signing.get_signer(settings)


_worker_settings: Settings | None = None


_store_pool: ThreadPoolExecutor | None = None


def _work(
    items: Sequence[_Item], templates: dict[str, pdf.RenderTemplate]
) -> list[tuple[int, StoredPdf | str]]:
    """Render and sign each item; storing (fsync-bound, no CPU) overlaps with the next render
    on a small thread pool."""
    global _store_pool
    settings = _worker_settings or get_settings()
    if _store_pool is None:
        _store_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pdf-store")
    pending: list[tuple[int, Future[StoredPdf] | str]] = []
    for item in items:
        try:
            signed = build_pdf(item.data, templates[item.template_key], settings)
            pending.append(
                (
                    item.cert_id,
                    _store_pool.submit(store_pdf, item.cert_id, item.year, signed, settings),
                )
            )
        except Exception as exc:  # one bad certificate must not sink the batch
            log.exception("certificate %s: PDF failed", item.cert_id)
            pending.append((item.cert_id, f"{type(exc).__name__}: {exc}"))
    out: list[tuple[int, StoredPdf | str]] = []
    for cert_id, outcome in pending:
        if isinstance(outcome, str):
            out.append((cert_id, outcome))
            continue
        try:
            out.append((cert_id, outcome.result()))
        except Exception as exc:
            log.exception("certificate %s: storing the PDF failed", cert_id)
            out.append((cert_id, f"{type(exc).__name__}: {exc}"))
    return out


def default_workers() -> int:
    return max(
        1,
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
    )


def _load_items(
    session: Session,
    cert_ids: Sequence[int],
    settings: Settings,
    templates: dict[str, pdf.RenderTemplate],
) -> list[_Item]:
    certs = session.scalars(select(Certificate).where(Certificate.id.in_(cert_ids))).all()
    items: list[_Item] = []
    for cert in certs:
        cert_templates.record_template(session, cert)
        template = cert_templates.render_template_for(session, cert, settings)
        templates.setdefault(template.key, template)
        items.append(_Item(cert.id, cert.year, template.key, certificate_data(cert, settings)))
    return items


def _record(
    session: Session, results: Iterable[tuple[int, StoredPdf | str]], result: BulkResult
) -> int:
    rows = []
    for cert_id, outcome in results:
        if isinstance(outcome, StoredPdf):
            rows.append(
                {
                    "id": cert_id,
                    "pdf_key": outcome.key,
                    "pdf_sha256": outcome.sha256,
                    "pdf_size": outcome.size,
                }
            )
        else:
            assert result.failed is not None
            result.failed[cert_id] = outcome
    if rows:
        # ORM bulk UPDATE by primary key: one executemany for the whole batch.
        session.execute(update(Certificate), rows)
        audit.record_many(session, [  # one head lock and one insert per batch
            audit.Record("certificate.signed", ("certificate", r["id"]), actor=None,
                         after={"pdf_sha256": r["pdf_sha256"]}) for r in rows])  # fmt: skip
    result.produced += len(rows)
    return len(rows)


def produce_many(
    session_factory: sessionmaker[Session] | Callable[[], Session],
    cert_ids: Sequence[int],
    settings: Settings | None = None,
    *,
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    commit_every: int = 256,
    chunk: int = CHUNK,
) -> BulkResult:
    """Produce PDFs for many certificates (bulk issue, resume, benchmarks). Rendering and
    signing run in `workers` processes; results are written back (and committed) every
    `commit_every` certificates, so a crash loses at most that much work and a resume picks
    up certificates whose `pdf_key` is still empty. `on_progress(done)` reports the running
    total after each commit."""
    settings = settings or get_settings()
    keys.ensure_keys(settings)  # made once here, not raced by the workers
    workers = workers or settings.cert_pdf_workers or default_workers()
    result = BulkResult(failed={}, workers=workers)
    started = time.perf_counter()
    ids = list(cert_ids)
    if not ids:
        return result
    done = 0
    if workers <= 1 or len(ids) <= chunk:
        _worker_init(settings)
        for start in range(0, len(ids), commit_every):
            with session_factory() as session:
                templates: dict[str, pdf.RenderTemplate] = {}
                items = _load_items(session, ids[start : start + commit_every], settings, templates)
                done += _record(session, _work(items, templates), result)
                session.commit()
            if on_progress:
                on_progress(done)
        result.seconds = time.perf_counter() - started
        return result

    ctx = multiprocessing.get_context("spawn")  # safe from threaded parents (web, job worker)
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_worker_init, initargs=(settings,)
    ) as pool:
        pending: set[Future[list[tuple[int, StoredPdf | str]]]] = set()
        finished: list[tuple[int, StoredPdf | str]] = []

        def flush(force: bool) -> None:
            nonlocal done, finished
            if finished and (force or len(finished) >= commit_every):
                with session_factory() as session:
                    done += _record(session, finished, result)
                    session.commit()
                finished = []
                if on_progress:
                    on_progress(done)

        position = 0
        while position < len(ids) or pending:
            # Keep two tasks per worker queued so no core waits for the database.
            while position < len(ids) and len(pending) < workers * 2:
                batch = ids[position : position + chunk]
                position += len(batch)
                with session_factory() as session:
                    templates = {}
                    items = _load_items(session, batch, settings, templates)
                    session.commit()  # template ids recorded on certificates that had none
                pending.add(pool.submit(_work, items, templates))
            completed, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in completed:
                finished.extend(future.result())
            flush(False)
        flush(True)
    result.seconds = time.perf_counter() - started
    return result


def missing_pdf_ids(session: Session, run_id: int | None = None) -> list[int]:
    """Certificates issued but without a stored PDF yet (resume after a crash)."""
    query = select(Certificate.id).where(Certificate.pdf_key.is_(None)).order_by(Certificate.id)
    if run_id is not None:
        query = query.where(Certificate.run_id == run_id)
    return list(session.scalars(query))
