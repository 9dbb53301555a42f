"""A certificate's PDF: produced once (render + sign + store), recorded on the row, served back
byte for byte; bulk production over a process pool covers every certificate."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from app.certificates import documents, signing
from app.certificates.models import Certificate
from app.core.db import session_factory, session_scope
from app.core.errors import NotFound
from tests.factories import make_certificate_record


def _page_count(data: bytes) -> int:
    reader = PdfFileReader(io.BytesIO(data))
    return int(reader.root["/Pages"]["/Count"])


def test_produce_records_key_hash_and_size(settings) -> None:  # type: ignore[no-untyped-def]
    cert_id = make_certificate_record()
    with session_scope() as session:
        cert = session.get(Certificate, cert_id)
        assert cert is not None
        stored = documents.produce(session, cert, settings)
    with session_scope() as session:
        cert = session.get(Certificate, cert_id)
        assert cert is not None
        assert cert.pdf_key == stored.key
        assert cert.pdf_key.startswith(f"certificates/{cert.year}/{cert.id}-")
        data = documents.read_pdf(cert, settings)
    assert hashlib.sha256(data).hexdigest() == cert.pdf_sha256
    assert len(data) == cert.pdf_size
    check = signing.signature_check(data, settings)
    assert check.authentic, check.reason


def test_open_pdf_before_production_is_not_found(settings) -> None:  # type: ignore[no-untyped-def]
    cert_id = make_certificate_record()
    with session_scope() as session:
        cert = session.get(Certificate, cert_id)
        assert cert is not None
        with pytest.raises(NotFound):
            documents.read_pdf(cert, settings)


def test_curriculum_adds_a_page(settings) -> None:  # type: ignore[no-untyped-def]
    plain = make_certificate_record()
    with_curriculum = make_certificate_record(
        curriculum=[("Kelompok Inti", [("Penyusunan SKP", 6.0), ("Praktik", 4.0)])]
    )
    pages = {}
    with session_scope() as session:
        for cert_id in (plain, with_curriculum):
            cert = session.get(Certificate, cert_id)
            assert cert is not None
            documents.produce(session, cert, settings)
            pages[cert_id] = _page_count(documents.read_pdf(cert, settings))
    assert pages[plain] == 1
    assert pages[with_curriculum] == 2
    with session_scope() as session:
        cert = session.get(Certificate, with_curriculum)
        assert cert is not None
        assert json.loads(cert.curriculum_json or "[]")[0][0] == "Kelompok Inti"


@pytest.mark.parametrize("workers", [1, 2])
def test_produce_many_covers_every_certificate(settings, workers: int) -> None:  # type: ignore[no-untyped-def]
    ids = [make_certificate_record() for _ in range(5)]
    seen: list[int] = []
    result = documents.produce_many(
        session_factory(),
        ids,
        settings,
        workers=workers,
        on_progress=seen.append,
        commit_every=2,
        chunk=2,
    )
    assert result.produced == 5 and not result.failed
    assert seen and seen[-1] == 5
    with session_scope() as session:
        rows = session.scalars(select(Certificate).where(Certificate.id.in_(ids))).all()
        assert all(r.pdf_key and r.pdf_sha256 and r.pdf_size for r in rows)
        assert documents.missing_pdf_ids(session) == []
        data = documents.read_pdf(rows[0], settings)
    assert signing.signature_check(data, settings).authentic


def test_one_failing_certificate_does_not_sink_the_batch(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ids = [make_certificate_record() for _ in range(3)]
    real = documents.build_pdf

    def flaky(data, template, settings):  # type: ignore[no-untyped-def]
        if data.holder_name == "RUSAK":
            raise ValueError("gagal menggambar")
        return real(data, template, settings)

    with session_scope() as session:
        broken = session.get(Certificate, ids[1])
        assert broken is not None
        broken.holder_name = "RUSAK"
    monkeypatch.setattr(documents, "build_pdf", flaky)
    result = documents.produce_many(session_factory(), ids, settings, workers=1)
    assert result.produced == 2
    assert result.failed is not None and list(result.failed) == [ids[1]]
    assert "gagal menggambar" in result.failed[ids[1]]
    with session_scope() as session:
        assert documents.missing_pdf_ids(session) == [ids[1]]
