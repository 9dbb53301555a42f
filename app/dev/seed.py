"""Demo accounts and synthetic ASN data shaped like a regency (like Moodle's test generator).

Deterministic for a given seed so benchmarks compare like with like.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.accounts import repository, service
from app.accounts.constants import GOLONGAN_PPPK, PANGKAT_PNS, JenisJabatan, Role
from app.accounts.models import User
from app.accounts.roster import TEMPLATE_HEADERS
from app.accounts.schemas import OpdCreate
from app.core import clock
from app.core.config import Settings
from app.core.db import utcnow

DEMO_PASSWORD = "Diklat-Demo-2026"  # noqa: S105 - printed for the demo on purpose

DEMO_OPDS = [
    ("BKPSDM", "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia"),
    ("SETDA", "Sekretariat Daerah"),
    ("DISKOMINFO", "Dinas Komunikasi, Informatika, Statistik dan Persandian"),
    ("DINKES", "Dinas Kesehatan"),
    ("DINDIK", "Dinas Pendidikan dan Kebudayaan"),
    ("BAPPEDA", "Badan Perencanaan Pembangunan Daerah"),
    ("DPMPTSP", "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu"),
    ("BPKAD", "Badan Pengelolaan Keuangan dan Aset Daerah"),
    ("DISDUKCAPIL", "Dinas Kependudukan dan Pencatatan Sipil"),
    ("DPUPR", "Dinas Pekerjaan Umum dan Penataan Ruang"),
]


@dataclass(frozen=True, slots=True)
class DemoAccount:
    nip: str
    name: str
    email: str
    roles: tuple[Role, ...]
    opd: str
    pangkat: str
    jabatan: str
    jenis: JenisJabatan


DEMO_ACCOUNTS = [
    DemoAccount("197805122005011002", "Admin Sistem", "admin@demo.lms.go.id", (Role.ADMIN,),
                "BKPSDM", "III/d", "Pranata Komputer Ahli Muda", JenisJabatan.FUNGSIONAL),
    DemoAccount("198203142008012003", "Siti Rahmawati", "penyelenggara@demo.lms.go.id",
                (Role.TRAINING_OFFICER,), "BKPSDM", "III/c", "Analis Pengembangan Kompetensi",
                JenisJabatan.FUNGSIONAL),
    DemoAccount("198711032010011004", "Andi Pratama", "konten@demo.lms.go.id",
                (Role.CONTENT_ADMIN,), "BKPSDM", "III/b", "Widyaiswara Ahli Pertama",
                JenisJabatan.FUNGSIONAL),
    DemoAccount("197501202000031001", "Dr. Bambang Hidayat, M.Si.", "mentor@demo.lms.go.id",
                (Role.MENTOR, Role.LEARNER, Role.OPD_HEAD), "DISKOMINFO", "IV/b", "Kepala Dinas",
                JenisJabatan.JPT),
    DemoAccount("199304152019032005", "Dewi Lestari", "peserta@demo.lms.go.id", (Role.LEARNER,),
                "DISKOMINFO", "III/a", "Pengelola Layanan Informasi", JenisJabatan.PELAKSANA),
]  # fmt: skip


def load_demo(session: Session, settings: Settings) -> list[DemoAccount]:
    """Create the demo OPDs and accounts if missing (safe to run again)."""
    from app.accounts.schemas import UserCreate

    existing_opds = repository.opd_ids_by_code(session)
    for code, name in DEMO_OPDS:
        if code not in existing_opds:
            service.create_opd(session, OpdCreate(code=code, name=name))
    for account in DEMO_ACCOUNTS:
        if repository.get_user_by_nip(session, account.nip) is None:
            service.create_user(
                session,
                UserCreate(
                    nip=account.nip,
                    name=account.name,
                    email=account.email,
                    password=DEMO_PASSWORD,
                    roles=list(account.roles),
                    opd_code=account.opd,
                    employment="PNS",
                    pangkat_golongan=account.pangkat,
                    jabatan=account.jabatan,
                    jenis_jabatan=account.jenis,
                ),
                settings,
            )
    return DEMO_ACCOUNTS


# The demo's competency development: job standards for the demo learner's jabatan, her latest
# assessment (gaps in literasi digital and keamanan informasi), the mentor's, and an induction
# assignment with one logged session waiting for her confirmation. (jabatan, code, level)
_DEMO_STANDARDS = [("Pengelola Layanan Informasi", code, 3) for code in
                   ("literasi_digital", "keamanan_informasi", "pelayanan_publik", "komunikasi",
                    "integritas")]  # fmt: skip
_DEMO_LEVELS = {
    "199304152019032005": {"literasi_digital": 2, "keamanan_informasi": 1, "pelayanan_publik": 3,
                           "komunikasi": 2, "integritas": 3},
    "197501202000031001": {"literasi_digital": 4, "keamanan_informasi": 4, "komunikasi": 4,
                           "integritas": 4},
}  # fmt: skip


def load_demo_development(session: Session, settings: Settings) -> bool:
    """Demo standards, assessments and a mentoring assignment (once; False when already there)."""
    from sqlalchemy import select

    from app.competency import service as competency_service
    from app.competency.models import CompetencyAssessment, CompetencyStandard
    from app.mentoring.models import MentoringAssignment, MentoringSession

    people = {
        nip: uid for nip, (uid, _email) in repository.users_by_nips(session, _DEMO_LEVELS).items()
    }
    learner, mentor = people.get("199304152019032005"), people.get("197501202000031001")
    if learner is None or mentor is None:
        return False
    if session.scalar(
        select(CompetencyAssessment.id).where(CompetencyAssessment.user_id == learner)
    ):
        return False
    today = clock.today()
    have = set(
        session.execute(select(CompetencyStandard.jabatan_key, CompetencyStandard.competency_code))
    )
    for jabatan, code, level in _DEMO_STANDARDS:
        key = competency_service.fold(jabatan)
        if (key, code) not in have:
            session.add(CompetencyStandard(jabatan=jabatan, jabatan_key=key, competency_code=code,
                                           required_level=level))  # fmt: skip
    assessed_on = today - dt.timedelta(days=60)
    for nip, levels in _DEMO_LEVELS.items():
        for code, level in levels.items():
            session.add(CompetencyAssessment(
                user_id=people[nip], competency_code=code, level=level, assessed_on=assessed_on,
                method="assessment center", assessor="UPT Penilaian Kompetensi BKPSDM",
            ))  # fmt: skip
    assignment = MentoringAssignment(
        mentor_id=mentor, mentee_id=learner, competency_code="keamanan_informasi",
        goal="Menyusun SOP penanganan insiden keamanan informasi di unit layanan informasi.",
        planned_sessions=4, jp_per_session=float(settings.mentoring_jp_per_session),
        starts_on=today - dt.timedelta(days=30), ends_on=today + dt.timedelta(days=90),
        status="active",
    )  # fmt: skip
    session.add(assignment)
    session.flush()
    session.add(MentoringSession(
        assignment_id=assignment.id, held_on=today - dt.timedelta(days=7), duration_minutes=90,
        goal="Memahami jenis insiden keamanan informasi yang sering terjadi.",
        reality="Belum ada prosedur tertulis; insiden dilaporkan lewat pesan singkat.",
        options="Mengadopsi pedoman BSSN atau menyusun SOP sendiri.",
        way_forward="Menyusun draf alur pelaporan insiden sebelum sesi berikutnya.",
    ))  # fmt: skip
    return True


SIZES = {"XS": (100, 5), "S": (1_000, 10), "M": (3_000, 20), "L": (10_000, 40)}

_FIRST = ["Agus", "Ahmad", "Ani", "Budi", "Citra", "Dedi", "Dewi", "Eka", "Fajar", "Fitri", "Gita", "Hadi", "Indah", "Joko", "Kartika", "Lina", "Made", "Nur", "Putri", "Rahmat", "Rina", "Rudi", "Sari", "Sri", "Tono", "Wahyu", "Wati", "Yanti", "Yusuf", "Zainal"]  # fmt: skip
_LAST = ["Hidayat", "Lestari", "Pratama", "Saputra", "Wijaya", "Kusuma", "Santoso", "Rahayu", "Nugroho", "Siregar", "Hasibuan", "Setiawan", "Purnomo", "Permana", "Maulana", "Fauzi", "Susanti", "Utami", "Gunawan", "Firmansyah"]  # fmt: skip
_JABATAN = ("Analis Kebijakan", "Pranata Komputer", "Pengadministrasi Umum", "Perencana",
            "Auditor", "Guru Ahli Pertama", "Perawat Terampil", "Bidan Ahli Pertama",
            "Analis Keuangan", "Pengelola Data", "Kepala Seksi", "Kepala Bidang")  # fmt: skip


def synthetic_nip(rng: random.Random, index: int) -> tuple[str, str]:
    """A NIP that passes every rule, unique by `index`; returns (nip, employment)."""
    birth = dt.date(1965, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 35))
    start_year = rng.randrange(birth.year + 19, min(birth.year + 40, 2025) + 1)
    pppk = rng.random() < 0.2 and start_year >= 2019
    month = "21" if pppk else f"{rng.randrange(1, 13):02d}"
    gender = rng.choice("12")
    # The sequence digits carry the index so NIPs never collide within one data set.
    nip = f"{birth:%Y%m%d}{start_year:04d}{month}{gender}{index % 999 + 1:03d}"
    return nip, "PPPK" if pppk else "PNS"


def synthetic_rows(count: int, opd_codes: list[str], *, seed: int = 2026) -> list[dict[str, str]]:
    """Roster rows like the agency's spreadsheet, with unique NIPs and emails."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    index = 0
    while len(rows) < count:
        nip, employment = synthetic_nip(rng, index)
        index += 1
        if nip in seen:
            continue
        seen.add(nip)
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        pangkat = rng.choice(
            GOLONGAN_PPPK[4:11] if employment == "PPPK" else list(PANGKAT_PNS)[4:15]
        )
        rows.append({
            "NIP": nip, "Nama": name, "Email": f"{nip}@asn.example.go.id",
            "Jenis Pegawai": employment, "Pangkat/Golongan": pangkat,
            "Jabatan": rng.choice(_JABATAN), "Kode OPD": opd_codes[len(rows) % len(opd_codes)],
        })  # fmt: skip
    return rows


def rows_to_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(TEMPLATE_HEADERS))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def seed(session: Session, settings: Settings, size: str) -> dict[str, int]:
    """Synthetic OPDs and ASN for a size (L = 10,000 ASN in 40 OPDs); adds to what exists."""
    users, opds = SIZES[size]
    existing = repository.opd_ids_by_code(session)
    codes = [f"OPD{i:02d}" for i in range(1, opds + 1)]
    for code in codes:
        if code not in existing:
            service.create_opd(session, OpdCreate(code=code, name=f"Perangkat Daerah {code[3:]}"))
    opd_ids = repository.opd_ids_by_code(session)
    rows = synthetic_rows(users, codes)
    have = repository.users_by_nips(session, (r["NIP"] for r in rows))
    now = utcnow()
    new = [
        {
            "nip": r["NIP"],
            "name": r["Nama"],
            "email": r["Email"],
            "employment": r["Jenis Pegawai"],
            "pangkat_golongan": r["Pangkat/Golongan"],
            "jabatan": r["Jabatan"],
            "jenis_jabatan": None,
            "opd_id": opd_ids[r["Kode OPD"]],
            "is_active": True,
            "created_at": now,
            "updated_at": now,
        }
        for r in rows
        if r["NIP"] not in have
    ]
    for i in range(0, len(new), 2000):
        ids = repository.bulk_insert_users(session, new[i : i + 2000])
        repository.bulk_insert_roles(
            session, [{"user_id": uid, "role": Role.LEARNER.value} for uid in ids.values()]
        )
    return {"opds": opds, "users_created": len(new), "users_total": repository.count_users(session)}


COURSE_SIZES = {"XS": (5, 200), "S": (20, 5_000), "M": (60, 30_000), "L": (200, 100_000)}
_TOPICS = ("Literasi Digital", "Keamanan Informasi", "Pelayanan Publik", "Manajemen Risiko",
           "Etika Birokrasi", "Penyusunan Anggaran", "Analisis Kebijakan", "Komunikasi Efektif",
           "Kepemimpinan Pengawas", "Pengelolaan Arsip", "SPBE", "Pengadaan Barang/Jasa")  # fmt: skip


def seed_courses(session: Session, size: str, *, seed_value: int = 2026) -> dict[str, int]:
    """Published courses with sections, page/link activities, open runs and enrolments."""
    from sqlalchemy import insert, select

    from app.courses.models import Activity, Course, Enrolment, Run, Section

    courses, enrolments = COURSE_SIZES[size]
    rng = random.Random(seed_value)  # noqa: S311 - test data
    now = utcnow()
    today = now.date()
    existing = set(session.scalars(select(Course.code)))
    course_rows = []
    for i in range(1, courses + 1):
        code = f"SEED-{i:03d}"
        if code in existing:
            continue
        topic = _TOPICS[i % len(_TOPICS)]
        course_rows.append({
            "code": code, "title": f"{topic} {i}", "summary": f"Pelatihan {topic.lower()} untuk ASN.",
            "description_md": f"# {topic}\n\nMateri pelatihan sintetis nomor {i}.",
            "category": rng.choice(("manajerial", "sosial_kultural", "teknis")),
            "learning_mode": "e_learning", "jp": rng.choice((2, 4, 6, 8, 10, 12, 20)),
            "status": "published", "published_at": now, "created_at": now, "updated_at": now,
        })  # fmt: skip
    if not course_rows:
        return {"courses_created": 0, "enrolments_created": 0}
    course_ids = [
        cid for (cid,) in session.execute(insert(Course).returning(Course.id), course_rows)
    ]
    section_rows = [
        {"course_id": cid, "position": p, "title": f"Modul {p}"}
        for cid in course_ids
        for p in (1, 2, 3)
    ]
    sections = list(
        session.execute(insert(Section).returning(Section.id, Section.course_id), section_rows)
    )
    activity_rows = []
    for sid, cid in sections:
        for p in range(1, 5):
            link = p == 4
            activity_rows.append({
                "section_id": sid, "course_id": cid, "position": p, "kind": "link" if link else "page",
                "title": f"Materi {p}", "duration_minutes": 15, "required": not link,
                "completion_rule": "viewed", "locked_until_previous": False, "hidden": False,
                "body_md": None if link else "Isi bacaan.", "url": "https://example.go.id/" if link else None,
                "created_at": now, "updated_at": now,
            })  # fmt: skip
    session.execute(insert(Activity), activity_rows)
    run_rows = [
        {
            "course_id": cid,
            "name": "Angkatan I",
            "starts_on": today.replace(month=1, day=2),  # the year's runs: a year of data
            "ends_on": today.replace(year=today.year + 1),
            "capacity": None,
            "enrolled_count": 0,
            "funding_source": rng.choice(("apbd_kabupaten", "apbn", "non_anggaran")),
            "self_enrol": True,
            "created_at": now,
            "updated_at": now,
        }
        for cid in course_ids
    ]
    run_ids = [rid for (rid,) in session.execute(insert(Run).returning(Run.id), run_rows)]
    user_ids = list(session.scalars(select(User.id).where(User.is_active.is_(True))))
    pairs: set[tuple[int, int]] = set()
    if user_ids:
        target = min(enrolments, len(user_ids) * len(run_ids))
        while len(pairs) < target:
            pairs.add((rng.choice(run_ids), rng.choice(user_ids)))
    rows = [
        {"run_id": r, "user_id": u, "status": "active", "enrolled_at": now, "updated_at": now}
        for r, u in pairs
    ]
    for i in range(0, len(rows), 5000):
        session.execute(insert(Enrolment), rows[i : i + 5000])
    counts: dict[int, int] = {}
    for r, _u in pairs:
        counts[r] = counts.get(r, 0) + 1
    if counts:
        from sqlalchemy import update

        session.execute(update(Run), [{"id": r, "enrolled_count": n} for r, n in counts.items()])
    return {"courses_created": len(course_ids), "enrolments_created": len(rows)}
