"""Fixed vocabularies of the evaluation domain and the institution's default survey."""

from __future__ import annotations

from enum import StrEnum

from app.core.i18n import N_


class QuestionKind(StrEnum):
    LIKERT = "likert"  # 1 (sangat tidak setuju) .. 5 (sangat setuju)
    TEXT = "text"


class QuestionTarget(StrEnum):
    COURSE = "course"  # asked once
    INSTRUCTOR = "instructor"  # asked once per instructor listed on the run


LIKERT_MIN, LIKERT_MAX = 1, 5
MAX_TEXT_ANSWER_CHARS = 2000
MAX_QUESTIONS = 60
RTL_MIN_PLAN_CHARS = 20
RTL_MAX_PLAN_CHARS = 4000

# Evaluasi penyelenggaraan: the statements most BKPSDM post-course forms ask (course, organiser,
# platform, instructors), used by every course that has not set its own. Marked for the catalog:
# pages show a question still worded as shipped in the reader's language (`translate_default`).
DEFAULT_QUESTIONS: tuple[tuple[QuestionKind, QuestionTarget, str, bool], ...] = (
    (QuestionKind.LIKERT, QuestionTarget.COURSE,
     N_("Materi pelatihan sesuai dengan kebutuhan tugas dan jabatan saya."), True),
    (QuestionKind.LIKERT, QuestionTarget.COURSE,
     N_("Tujuan pembelajaran disampaikan dengan jelas sejak awal."), True),
    (QuestionKind.LIKERT, QuestionTarget.COURSE,
     N_("Susunan dan urutan materi mudah diikuti."), True),
    (QuestionKind.LIKERT, QuestionTarget.COURSE,
     N_("Bahan ajar (video, modul, bacaan) berkualitas baik dan mudah diakses."), True),
    (QuestionKind.LIKERT, QuestionTarget.COURSE,
     N_("Aplikasi e-learning mudah digunakan dan berjalan lancar."), True),
    (QuestionKind.LIKERT, QuestionTarget.COURSE,
     N_("Alokasi waktu pelatihan memadai."), True),
    (QuestionKind.LIKERT, QuestionTarget.COURSE,
     N_("Panitia penyelenggara memberikan informasi dan layanan yang baik."), True),
    (QuestionKind.LIKERT, QuestionTarget.COURSE,
     N_("Soal evaluasi (kuis dan post-test) sesuai dengan materi yang diajarkan."), True),
    (QuestionKind.LIKERT, QuestionTarget.COURSE,
     N_("Secara keseluruhan, saya puas dengan penyelenggaraan pelatihan ini."), True),
    (QuestionKind.LIKERT, QuestionTarget.INSTRUCTOR,
     N_("Pengajar menguasai materi yang disampaikan."), True),
    (QuestionKind.LIKERT, QuestionTarget.INSTRUCTOR,
     N_("Pengajar menyampaikan materi dengan jelas dan sistematis."), True),
    (QuestionKind.LIKERT, QuestionTarget.INSTRUCTOR,
     N_("Pengajar memberi kesempatan bertanya dan menanggapi dengan baik."), True),
    (QuestionKind.LIKERT, QuestionTarget.INSTRUCTOR,
     N_("Pengajar tepat waktu dan disiplin."), True),
    (QuestionKind.TEXT, QuestionTarget.COURSE,
     N_("Hal apa yang paling bermanfaat dari pelatihan ini?"), False),
    (QuestionKind.TEXT, QuestionTarget.COURSE,
     N_("Saran perbaikan untuk penyelenggaraan berikutnya."), False),
)  # fmt: skip
