"""The certification-rules form of the studio (content admins, training officers, admins):
every rule of a course, each either the course's own value or "follow the institution"."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.certificates import service
from app.certificates import templates as cert_templates
from app.certificates.models import CertificationRules
from app.certificates.schemas import PredikatBand, RulesUpdate
from app.core.config import Settings
from app.core.errors import LMSError
from app.core.i18n import gettext_ as _
from app.core.numbers import row_id
from app.courses import service as courses_service
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

# Mounted under the studio router (prefix /studio) by app/certificates/studio.py.
router = Router(tags=["pages"], include_in_schema=False)

RuleEditor = Annotated[Principal, Depends(require_roles(*service.RULE_EDITORS))]
PAGE = "certificates/studio/rules.html"
INHERIT = ""  # the form's value for "follow the institution's setting"
BAND_ROWS = 6
FLAGS = (
    "require_posttest",
    "require_survey",
    "require_rtl",
    "require_profile",
    "auto_issue",
    "curriculum_page",
)
NUMBERS: dict[str, tuple[float, float, bool]] = {  # name -> (minimum, maximum, whole number)
    "pass_score": (0, 100, False),
    "min_learning_minutes": (0, 100_000, True),
    "validity_years": (0, 50, True),
    "min_attendance_percent": (0, 100, False),
}
WEIGHT_PARTS = ("posttest", "activities", "assignments", "attendance")  # rules.SCORE_COMPONENTS


def flag_labels() -> dict[str, tuple[str, str]]:
    """Each yes/no rule: (label, hint)."""
    return {
        "require_posttest": (
            _("Wajib lulus post-test"),
            _("Nilai post-test harus mencapai nilai kelulusan."),
        ),
        "require_survey": (
            _("Wajib mengisi evaluasi penyelenggaraan"),
            _("Survei setelah pelatihan harus dikirim."),
        ),
        "require_rtl": (
            _("Wajib mengirim rencana tindak lanjut (RTL)"),
            _("Peserta menulis RTL sebelum sertifikat terbit."),
        ),
        "require_profile": (
            _("Wajib profil lengkap"),
            _("NIP, pangkat/golongan, jabatan dan OPD harus terisi."),
        ),
        "auto_issue": (
            _("Terbitkan sertifikat otomatis"),
            _(
                "Sertifikat terbit saat peserta memenuhi semua syarat; jika tidak, penyelenggara "
                "menerbitkannya."
            ),
        ),
        "curriculum_page": (
            _("Halaman kurikulum"),
            _("Halaman kedua sertifikat memuat mata pelatihan dan JP-nya."),
        ),
    }


def _yes_no(value: bool) -> str:
    return _("Ya") if value else _("Tidak")


def _num(value: float | int | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def form_values(row: CertificationRules | None) -> dict[str, Any]:
    """The course's own values as form strings ("" = follow the institution)."""
    values: dict[str, Any] = {
        "pass_score": _num(row.pass_score) if row else "",
        "min_learning_minutes": _num(row.min_learning_minutes) if row else "",
        "validity_years": _num(row.validity_years) if row else "",
        "min_attendance_percent": _num(row.min_attendance_percent) if row else "",
        "score_formula": (row.score_formula or "") if row else "",
        "template_id": str(row.template_id) if row and row.template_id else "",
    }
    for name in FLAGS:
        own = getattr(row, name) if row is not None else None
        values[name] = INHERIT if own is None else ("1" if own else "0")
    weights = json.loads(row.weights_json) if row and row.weights_json else {}
    for part in WEIGHT_PARTS:
        values[f"weight_{part}"] = _num(weights.get(part)) if weights else ""
    bands = json.loads(row.predikat_bands_json) if row and row.predikat_bands_json else []
    values["bands"] = [(_num(a), str(label)) for a, label in bands]
    return values


def _number(raw: str, name: str, label: str, errors: dict[str, str]) -> float | int | None:
    text = raw.strip().replace(",", ".")
    if not text:
        return None
    low, high, whole = NUMBERS.get(name, (0, 1000, False))
    try:
        value = float(text)
    except ValueError:
        errors[name] = _("%(label)s harus berupa angka.") % {"label": label}
        return None
    if whole and not value.is_integer():
        errors[name] = _("Isi dengan bilangan bulat, tanpa koma.")
        return None
    if value < low or value > high:
        errors[name] = _("Isi angka dari %(low)s sampai %(high)s.") % {
            "low": _num(low),
            "high": _num(high),
        }
        return None
    return int(value) if whole else value


def parse_form(
    form: dict[str, str], bands: list[tuple[str, str]]
) -> tuple[RulesUpdate, dict[str, str]]:
    """The posted form as a full update (every field sent; blank = the institution's setting),
    and the problems found, keyed by field."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    labels = {
        "pass_score": _("Nilai kelulusan"),
        "min_learning_minutes": _("Waktu belajar minimal"),
        "validity_years": _("Masa berlaku"),
        "min_attendance_percent": _("Kehadiran minimal"),
    }
    for name, label in labels.items():
        data[name] = _number(form.get(name, ""), name, label, errors)
    for name in FLAGS:
        choice = form.get(name, INHERIT)
        if choice not in (INHERIT, "0", "1"):
            errors[name] = _("Pilih salah satu pilihan.")
            choice = INHERIT
        data[name] = None if choice == INHERIT else choice == "1"
    formula = form.get("score_formula", "")
    if formula not in ("", "posttest", "weighted"):
        errors["score_formula"] = _("Pilih rumus nilai dari daftar.")
        formula = ""
    data["score_formula"] = formula or None
    weights: dict[str, float] = {}
    for part in WEIGHT_PARTS:
        key = f"weight_{part}"
        text = form.get(key, "").strip().replace(",", ".")
        if not text:
            continue
        try:
            weight = float(text)
        except ValueError:
            errors[key] = _("Isi dengan angka.")
            continue
        if weight < 0 or weight > 100:
            errors[key] = _("Isi angka dari %(low)s sampai %(high)s.") % {"low": 0, "high": 100}
            continue
        weights[part] = weight
    if weights and not any(w > 0 for w in weights.values()):
        errors["weight_posttest"] = _("Paling sedikit satu bobot harus lebih dari 0.")
    if formula == "weighted" and not weights:
        errors["weight_posttest"] = _("Rumus berbobot memerlukan bobot nilai.")
    data["weights"] = weights or None
    parsed: list[PredikatBand] = []
    seen: set[float] = set()
    for index, (above_raw, label_raw) in enumerate(bands):
        above_text, label = above_raw.strip().replace(",", "."), " ".join(label_raw.split())
        if not above_text and not label:
            continue
        key = f"band_{index}"
        if not above_text or not label:
            errors[key] = _("Isi batas nilai dan nama predikat, atau kosongkan keduanya.")
            continue
        try:
            above = float(above_text)
        except ValueError:
            errors[key] = _("Batas nilai harus berupa angka.")
            continue
        if above < 0 or above > 100:
            errors[key] = _("Batas nilai harus dari 0 sampai 100.")
            continue
        if len(label) > 64:
            errors[key] = _("Nama predikat paling panjang 64 karakter.")
            continue
        if above in seen:
            errors[key] = _("Batas nilai ini sudah dipakai di baris lain.")
            continue
        seen.add(above)
        parsed.append(PredikatBand(above=above, label=label))
    data["predikat_bands"] = parsed or None
    template = form.get("template_id", "").strip()
    template_id = row_id(template)
    if template and template_id is None:
        errors["template_id"] = _("Pilih templat dari daftar.")
    data["template_id"] = template_id
    return RulesUpdate(**data), errors


def _template_options(db: SessionDep, course_id: int, chosen: str) -> list[tuple[str, str]]:
    """The institution's templates and this course's own (plus the one chosen now, if any)."""
    options: list[tuple[str, str]] = []
    for t in cert_templates.list_templates(db):
        if t.course_id not in (None, course_id) and str(t.id) != chosen:
            continue
        suffix = _("templat institusi") if t.course_id is None else _("templat khusus kursus")
        options.append((str(t.id), f"{t.name} ({suffix})"))
    return options


def _institution(settings: Settings) -> dict[str, str]:
    """The institution's setting of each rule, shown in the "follow the institution" choice."""
    formula = {"posttest": _("nilai post-test"), "weighted": _("nilai berbobot")}
    out = {
        "pass_score": _num(settings.cert_pass_score),
        "min_learning_minutes": _num(settings.cert_min_learning_minutes),
        "validity_years": _num(settings.cert_validity_years),
        "min_attendance_percent": _num(settings.cert_min_attendance_percent),
        "score_formula": formula.get(settings.cert_score_formula, settings.cert_score_formula),
        "weights": ", ".join(f"{k} {_num(v)}" for k, v in settings.cert_weights.items()),
        "bands": "; ".join(f"> {_num(a)} {label}" for a, label in settings.cert_predikat_bands)
        + f"; {settings.cert_predikat_lowest}",
    }
    for name in FLAGS:
        out[name] = _yes_no(bool(getattr(settings, f"cert_{name}")))
    return out


def _page(
    request: Request,
    db: SessionDep,
    settings: Settings,
    course_id: int,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    course = courses_service.course_content(db, course_id)
    bands = list(values.get("bands") or [])
    bands += [("", "")] * max(0, BAND_ROWS - len(bands))
    return render(
        request,
        PAGE,
        {
            "course": {"id": course.id, "title": course.title, "code": course.code},
            "values": values,
            "bands": bands[:BAND_ROWS],
            "errors": errors or {},
            "notice": notice,
            "flags": flag_labels(),
            "institution": _institution(settings),
            "templates": _template_options(db, course_id, str(values.get("template_id") or "")),
        },
        status_code=status_code,
    )


@router.get("/courses/{course_id}/certification-rules")
def rules_page(
    request: Request,
    course_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    _editor: RuleEditor,
    notice: str | None = None,
) -> Response:
    courses_service.course_content(db, course_id)  # 404 for an unknown course
    message = (
        _("Aturan sertifikat disimpan; kelulusan peserta dihitung ulang.")
        if (notice == "saved")
        else None
    )
    return _page(
        request,
        db,
        settings,
        course_id,
        form_values(service.own_rules(db, course_id)),
        notice=message,
    )


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form as plain strings (async: Starlette parses it; CSRF was checked already)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


@router.post("/courses/{course_id}/certification-rules")
def save_rules_page(
    request: Request,
    course_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    _editor: RuleEditor,
    fields: FormFields,
) -> Response:
    """Save every rule at once; blank fields follow the institution. Problems come back on the
    form, next to their field, and nothing is saved."""
    courses_service.course_content(db, course_id)
    bands = [
        (fields.get(f"band_above_{i}", ""), fields.get(f"band_label_{i}", ""))
        for i in range(BAND_ROWS)
    ]
    values: dict[str, Any] = {**fields, "bands": bands}
    data, errors = parse_form(fields, bands)
    if not errors:
        try:
            service.update_rules(db, course_id, data, settings)
        except LMSError as exc:
            db.rollback()
            field = getattr(exc, "field", None) or "form"
            errors = {"weight_posttest" if field == "weights" else field: exc.detail}
    if errors:
        db.rollback()
        summary = _("Aturan belum disimpan: periksa isian yang ditandai.")
        return _page(
            request, db, settings, course_id, values,
            errors={**errors, "form": errors.get("form", summary)}, status_code=422,
        )  # fmt: skip
    return RedirectResponse(
        f"/studio/courses/{course_id}/certification-rules?notice=saved", status_code=303
    )
