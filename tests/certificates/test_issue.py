"""Issuing, revoking and re-issuing: the record is a snapshot (later profile edits never change
it), revocation keeps it with reason/who/when and withdraws JP, re-issue makes a new version
with a new number and moves the JP; the run monitor and my courses take a bounded number of
queries."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.certificates import service
from app.certificates.models import Certificate, CertificationRules
from app.core import clock
from app.core.config import get_settings
from app.core.db import session_scope
from app.core.errors import Conflict
from app.jp import service as jp_service
from app.jp.models import JpCredit
from tests.certificates.pdfs import make_pdfs
from tests.factories import make_completed_run, make_user, set_profile
from tests.queries import count_queries


def _issue_all(run_id: int) -> list[int]:
    with session_scope() as session:
        result = service.issue(session, run_id, None, None, get_settings())
    return [i.id for i in result.issued]


def test_issue_snapshots_holder_course_run_and_signer() -> None:
    data = make_completed_run(1, auto_issue=False, jp=15)
    uid = data["users"][0]  # type: ignore[index]
    set_profile(uid, pangkat="III/b", jabatan="Pranata Komputer", name="Budi Santoso")
    [cid] = _issue_all(data["run"])  # type: ignore[arg-type]
    set_profile(uid, pangkat="III/c", jabatan="Kepala Seksi", name="Budi S.")
    make_pdfs()  # drawn from the snapshot, after the profile changed
    settings = get_settings()
    with session_scope() as session:
        cert = session.get(Certificate, cid)
        assert cert is not None
        assert (cert.holder_name, cert.holder_pangkat_golongan, cert.holder_jabatan) == (
            "Budi Santoso", "III/b", "Pranata Komputer")  # fmt: skip
        assert cert.holder_opd == "Dinas Komunikasi dan Informatika"
        assert cert.jp == 15 and cert.signer_name == settings.cert_signer_name
        assert cert.place == settings.cert_place and cert.issued_on == clock.today()
        assert len(cert.code) == 32 and cert.pdf_sha256
        assert cert.curriculum_json is None  # one 30-minute section is under 1 JP: no rows
        assert cert.valid_until is None and cert.credential_jws
        assert cert.template_id is not None and cert.template_version >= 1


def test_validity_years_and_no_double_issue() -> None:
    data = make_completed_run(1, auto_issue=False)
    with session_scope() as session:
        rules = session.get(CertificationRules, data["course"])
        assert rules is not None
        rules.validity_years = 3
    [cid] = _issue_all(data["run"])  # type: ignore[arg-type]
    assert _issue_all(data["run"]) == []  # type: ignore[arg-type]
    with session_scope() as session:
        cert = session.get(Certificate, cid)
        assert cert is not None and cert.valid_until == service.add_years(clock.today(), 3)
        result = service.issue(session, data["run"], data["users"], None, get_settings())  # type: ignore[arg-type]
    assert result.issued == []
    assert result.ineligible == []  # already certified is not "not eligible"
    assert [(c.id, c.user_id) for c in result.already_certified] == [(cid, data["users"][0])]  # type: ignore[index]
    assert result.already_certified[0].number


def test_revoke_keeps_record_and_withdraws_jp() -> None:
    data = make_completed_run(1)
    officer = make_user(roles=("training_officer",))
    with session_scope() as session:
        cert = session.scalars(select(Certificate)).one()
        service.revoke(session, cert.id, "Data peserta tidak benar", officer.id)
    with session_scope() as session:
        cert = session.scalars(select(Certificate)).one()
        assert cert.status == "revoked" and cert.revoked_by_id == officer.id
        assert cert.revoked_reason == "Data peserta tidak benar" and cert.revoked_at
        credit = session.scalars(select(JpCredit)).one()
        assert credit.withdrawn_at is not None
        total = jp_service.summary(session, cert.user_id, cert.year, get_settings()).total_jp
        assert total == 0
        with pytest.raises(Conflict):
            service.revoke(session, cert.id, "lagi", officer.id)
    assert _issue_all(data["run"]) == []  # type: ignore[arg-type]  # revoked stays revoked


def test_reissue_new_version_new_number_jp_moves() -> None:
    data = make_completed_run(1)
    uid = data["users"][0]  # type: ignore[index]
    set_profile(uid, name="Dewi Lestary")
    with session_scope() as session:
        old = session.scalars(select(Certificate)).one()
        old_id, old_number = old.id, old.number
    set_profile(uid, name="Dewi Lestari")
    with session_scope() as session:
        new = service.reissue(session, old_id, None, "Salah ketik nama", get_settings())
        new_id = new.id
    make_pdfs()
    with session_scope() as session:
        old = session.get(Certificate, old_id)
        new = session.get(Certificate, new_id)
        assert old is not None and new is not None
        assert old.status == "superseded" and old.superseded_at
        assert new.version == 2 and new.previous_id == old_id and new.status == "valid"
        assert new.number != old_number and new.seq == old.seq + 1 and new.code != old.code
        assert new.holder_name == "Dewi Lestari" and new.score == old.score and new.pdf_sha256
        credit = session.scalars(select(JpCredit)).one()
        assert credit.source_id == new_id and credit.reference == new.number
        assert credit.withdrawn_at is None
        with pytest.raises(Conflict):
            service.reissue(session, old_id, None, "lagi", get_settings())


def test_run_monitor_and_issue_take_bounded_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    small = make_completed_run(3, auto_issue=False, pages=2)
    big = make_completed_run(32, auto_issue=False, pages=2)
    settings = get_settings()
    counts = []
    for run in (small["run"], big["run"]):
        with session_scope() as session, count_queries() as statements:
            rows = service.run_monitor(session, run, settings)  # type: ignore[arg-type]
        counts.append(len(statements))
    assert len(rows) == 32 and all(r.eligible and r.percent == 100 for r in rows)
    assert counts[0] == counts[1] and counts[1] <= 15, counts
    monkeypatch.setattr(service, "produce_pdf", lambda *a, **k: None)
    monkeypatch.setattr(settings, "cert_sync_issue_max", 100)
    with session_scope() as session, count_queries() as statements:
        result = service.issue(session, big["run"], None, None, settings)  # type: ignore[arg-type]
    assert len(result.issued) == 32
    # Per certificate: the counter, the row and the JP credit; everything else once per run
    # (the PDFs' outbox items: one insert for the run; the audit entries: the chain's head locked,
    # made on first use, one insert and the new head: at most 5).
    assert len(statements) <= 15 + 3 * 32 + 6 + 5, len(statements)


def test_my_courses_progress_missing_and_certificate() -> None:
    data = make_completed_run(1, complete=False, auto_issue=True)
    uid = data["users"][0]  # type: ignore[index]
    settings = get_settings()
    with session_scope() as session:
        [course] = service.my_courses(session, uid, settings)
    assert course.percent == 0 and not course.completed and course.certificate_id is None
    assert [m.name for m in course.missing] == ["required_activities"]
    from tests.factories import complete_activity

    for page in data["pages"]:  # type: ignore[attr-defined]
        complete_activity(data["enrolments"][0], page)  # type: ignore[index]
    with session_scope() as session:
        [course] = service.my_courses(session, uid, settings)
        mine = service.my_certificates(session, uid, settings)
    assert course.percent == 100 and course.completed and course.completed_at
    assert course.certificate_id == mine[0].id and mine[0].status == "valid"
