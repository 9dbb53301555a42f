"""Certificate templates: the institution default and per-course overrides (background image +
layout JSON, version bumped on each save), background upload checks, and preview rendering.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.certificates import pdf
from app.certificates.layout import DEFAULT_LAYOUT, Layout, layout_json, parse_layout
from app.certificates.models import Certificate, CertificateTemplate, CertificationRules
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from app.core.i18n import gettext_ as _
from app.storage import get_storage

BACKGROUND_PREFIX = "certificate-backgrounds"
DEFAULT_NAME = "Templat institusi"


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    """A template as pages and the API show it."""

    id: int
    course_id: int | None
    name: str
    version: int
    layout_json: str
    has_background: bool
    background_sha256: str | None
    updated_at: str
    signer_name: str | None = None  # None: the institution's setting
    signer_nip: str | None = None
    signer_jabatan: str | None = None


def info(template: CertificateTemplate) -> TemplateInfo:
    return TemplateInfo(
        id=template.id,
        course_id=template.course_id,
        name=template.name,
        version=template.version,
        layout_json=template.layout_json,
        has_background=template.background_key is not None,
        background_sha256=template.background_sha256,
        updated_at=template.updated_at.isoformat() if template.updated_at else "",
        signer_name=template.signer_name,
        signer_nip=template.signer_nip,
        signer_jabatan=template.signer_jabatan,
    )


# --- lookups ------------------------------------------------------------------------------


def get_template(session: Session, template_id: int) -> CertificateTemplate:
    template = session.get(CertificateTemplate, template_id)
    if template is None:
        raise NotFound("Templat sertifikat tidak ditemukan.", code="template_not_found")
    return template


def institution_template(session: Session, *, create: bool = True) -> CertificateTemplate | None:
    """The institution's default template (course None), made from DEFAULT_LAYOUT on first use."""
    template = session.scalars(
        select(CertificateTemplate)
        .where(CertificateTemplate.course_id.is_(None))
        .order_by(CertificateTemplate.id)
        .limit(1)
    ).first()
    if template is None and create:
        template = CertificateTemplate(
            course_id=None, name=DEFAULT_NAME, version=1, layout_json=layout_json(DEFAULT_LAYOUT)
        )
        session.add(template)
        session.flush()
    return template


def list_templates(session: Session) -> list[CertificateTemplate]:
    """Every template: the institution's first, then course overrides."""
    return list(
        session.scalars(
            select(CertificateTemplate).order_by(
                CertificateTemplate.course_id.is_not(None), CertificateTemplate.id
            )
        )
    )


def course_template(session: Session, course_id: int) -> CertificateTemplate | None:
    """The course's own template, if it has one."""
    return session.scalars(
        select(CertificateTemplate)
        .where(CertificateTemplate.course_id == course_id)
        .order_by(CertificateTemplate.id)
        .limit(1)
    ).first()


def template_for_course(session: Session, course_id: int) -> CertificateTemplate:
    """Which template a course's certificates use: the one its certification rules name, else
    the course's own, else the institution default (made on first use)."""
    rules = session.get(CertificationRules, course_id)
    if rules is not None and rules.template_id is not None:
        chosen = session.get(CertificateTemplate, rules.template_id)
        if chosen is not None:
            return chosen
    own = course_template(session, course_id)
    if own is not None:
        return own
    default = institution_template(session, create=True)
    assert default is not None
    return default


# --- render-ready templates (cached per process by id and version) -----------------------

_render_cache: dict[tuple[int, int, str, str | None], pdf.RenderTemplate] = {}
_render_lock = threading.Lock()


def to_render_template(template: CertificateTemplate, settings: Settings) -> pdf.RenderTemplate:
    """Parse the layout and load the background once per template version."""
    # The content is part of the key: ids restart when a database is rebuilt (tests, restores).
    cache_key = (template.id, template.version, template.layout_json, template.background_sha256)
    with _render_lock:
        cached = _render_cache.get(cache_key)
    if cached is not None:
        return cached
    layout = parse_layout(template.layout_json)
    background = None
    if template.background_key:
        background = b"".join(get_storage(settings).open_range(template.background_key))
    rendered = pdf.RenderTemplate(
        layout=layout,
        background=background,
        background_sha256=template.background_sha256,
        key=f"{template.id}:{template.version}:{hashlib.sha256(template.layout_json.encode()).hexdigest()[:12]}",
    )
    with _render_lock:
        if len(_render_cache) > 64:
            _render_cache.clear()
        _render_cache[cache_key] = rendered
    return rendered


def record_template(session: Session, cert: Certificate) -> None:
    """Snapshot which template (and version) draws a certificate that was issued without one."""
    if cert.template_id is None:
        template = template_for_course(session, cert.course_id)
        cert.template_id, cert.template_version = template.id, template.version


def render_template_for(
    session: Session, cert: Certificate, settings: Settings
) -> pdf.RenderTemplate:
    """The template a certificate is drawn with: the one recorded on it, else its course's."""
    template = session.get(CertificateTemplate, cert.template_id) if cert.template_id else None
    if template is None:
        template = template_for_course(session, cert.course_id)
    return to_render_template(template, settings)


# --- editing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signer:
    """Who signs: printed in the signature block (name, NIP, jabatan)."""

    name: str
    nip: str | None
    jabatan: str


def signer_for(template: CertificateTemplate | None, settings: Settings) -> Signer:
    """The template's own signer where it sets one, else the institution's (LMS_CERT_SIGNER_*),
    field by field."""
    own = template if template is not None else None
    return Signer(
        name=(own.signer_name if own and own.signer_name else settings.cert_signer_name),
        nip=(own.signer_nip if own and own.signer_nip else settings.cert_signer_nip),
        jabatan=(
            own.signer_jabatan if own and own.signer_jabatan else settings.cert_signer_jabatan
        ),
    )


def clean_signer(
    name: str | None, nip: str | None, jabatan: str | None
) -> tuple[str | None, str | None, str | None]:
    """A template's signer fields: trimmed, blank = the institution's; the NIP checked."""
    from app.accounts.nip import NIPError, normalise_nip, parse_nip

    name_ = " ".join((name or "").split()) or None
    jabatan_ = " ".join((jabatan or "").split()) or None
    nip_ = normalise_nip(nip or "") or None
    if name_ is not None and len(name_) > 255:
        raise ValidationFailed(
            "Nama penandatangan paling panjang 255 karakter.", field="signer_name"
        )
    if jabatan_ is not None and len(jabatan_) > 255:
        raise ValidationFailed(
            "Jabatan penandatangan paling panjang 255 karakter.", field="signer_jabatan"
        )
    if nip_ is not None:
        try:
            parse_nip(nip_)
        except NIPError as exc:
            raise ValidationFailed(f"NIP penandatangan: {exc}", field="signer_nip") from None
    return name_, nip_, jabatan_


def save_template(
    session: Session,
    *,
    template_id: int | None,
    course_id: int | None,
    name: str,
    layout_text: str,
    by_id: int | None,
    signer: tuple[str | None, str | None, str | None] | None = None,
) -> CertificateTemplate:
    """Create or update a template after validating its layout; each save bumps the version.
    `signer` (name, NIP, jabatan; None each = the institution's) is set when given."""
    layout = parse_layout(layout_text)
    cleaned = clean_signer(*signer) if signer is not None else None
    name = name.strip()
    if not name or len(name) > 255:
        raise ValidationFailed("Nama templat wajib diisi (maks. 255 karakter).", field="name")
    if template_id is None:
        if course_id is not None and course_template(session, course_id) is not None:
            raise ValidationFailed("Pelatihan ini sudah memiliki templat.", field="course_id")
        template = CertificateTemplate(
            course_id=course_id, name=name, version=1, layout_json=layout_json(layout)
        )
        template.updated_by_id = by_id
        session.add(template)
    else:
        template = get_template(session, template_id)
        was = _template_audit(template)
        template.name = name
        template.layout_json = layout_json(layout)
        template.version += 1
        template.updated_by_id = by_id
        template.updated_at = utcnow()
    if cleaned is not None:
        template.signer_name, template.signer_nip, template.signer_jabatan = cleaned
    session.flush()
    before, after = audit.changes(was, _template_audit(template)) if template_id else (
        None, _template_audit(template))  # fmt: skip
    audit.record(session, "certificate.template_changed", actor=by_id,
                 target=("certificate_template", template.id), before=before, after=after)  # fmt: skip
    return template


def _template_audit(template: CertificateTemplate) -> dict[str, object]:
    return {"name": template.name, "version": template.version, "course_id": template.course_id,
            "signer_name": template.signer_name, "signer_nip": template.signer_nip,
            "signer_jabatan": template.signer_jabatan,
            "layout_sha256": hashlib.sha256((template.layout_json or "").encode()).hexdigest()}  # fmt: skip


def delete_template(session: Session, template_id: int) -> None:
    """Remove a course override (certificates keep their stored PDFs); the default stays."""
    template = get_template(session, template_id)
    if template.course_id is None:
        raise ValidationFailed("Templat institusi tidak dapat dihapus.", field="template_id")
    audit.record(session, "certificate.template_changed",
                 target=("certificate_template", template.id),
                 before=_template_audit(template), after={"deleted": True})  # fmt: skip
    session.delete(template)
    session.flush()


@dataclass(frozen=True, slots=True)
class ImageCheck:
    format: str  # PNG or JPEG
    width: int
    height: int
    content_type: str


def check_background(data: bytes, settings: Settings) -> ImageCheck:
    """Accept only PNG or JPEG (by content, not name) within the byte and pixel caps, roughly
    A4 landscape; every refusal says what is wrong."""
    if len(data) > settings.cert_background_max_bytes:
        raise PayloadTooLarge(
            _("Gambar latar terlalu besar (maks. %(value)s MB).")
            % {"value": settings.cert_background_max_bytes // (1024 * 1024)},
            max_bytes=settings.cert_background_max_bytes,
        )
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        fmt, ctype = "PNG", "image/png"
    elif data.startswith(b"\xff\xd8\xff"):
        fmt, ctype = "JPEG", "image/jpeg"
    else:
        raise UnsupportedMediaType(
            "Gambar latar harus berupa PNG atau JPEG.", code="background_type"
        )
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width * height > settings.cert_background_max_pixels:
                raise ValidationFailed(
                    _(
                        "Resolusi gambar latar terlalu besar (%(width)s×%(height)s); maks. %(cert_background_max_pixels)s piksel (mis. 3508×2480 = A4 300 dpi)."
                    )
                    % {
                        "width": width,
                        "height": height,
                        "cert_background_max_pixels": format(
                            settings.cert_background_max_pixels, ","
                        ),
                    },
                    field="background",
                )
            if img.format != fmt:
                raise UnsupportedMediaType(
                    "Isi berkas tidak sesuai formatnya.", code="background_type"
                )
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValidationFailed(
            _("Gambar latar rusak atau tidak dapat dibaca: %(exc)s") % {"exc": exc},
            field="background",
        ) from None
    except Image.DecompressionBombError:
        raise ValidationFailed("Resolusi gambar latar terlalu besar.", field="background") from None
    if width < 600 or height < 400:
        raise ValidationFailed(
            _("Gambar latar terlalu kecil (%(width)s×%(height)s); minimal 600×400 piksel.")
            % {"width": width, "height": height},
            field="background",
        )
    ratio = width / height
    if not 1.25 <= ratio <= 1.6:
        raise ValidationFailed(
            _(
                "Gambar latar harus mendatar seukuran A4 landscape (rasio ≈ 1,41); gambar ini %(ratio)s."
            )
            % {"ratio": format(ratio, ".2f")},
            field="background",
        )
    return ImageCheck(fmt, width, height, ctype)


def set_background(
    session: Session,
    template: CertificateTemplate,
    data: bytes,
    settings: Settings,
    *,
    by_id: int | None,
) -> CertificateTemplate:
    """Store a checked background image and bump the template version."""
    checked = check_background(data, settings)
    # Decoding once here proves reportlab-side preparation works before anything is saved.
    pdf.prepare_background(data)
    storage = get_storage(settings)
    key = storage.new_key(BACKGROUND_PREFIX)
    stored = storage.put(key, io.BytesIO(data), content_type=checked.content_type)
    template.background_key = stored.key
    template.background_sha256 = stored.sha256
    template.version += 1
    template.updated_by_id = by_id
    template.updated_at = utcnow()
    session.flush()
    return template


def remove_background(
    session: Session, template: CertificateTemplate, *, by_id: int | None
) -> CertificateTemplate:
    """Back to the vector frame; the old image stays in storage for already-issued versions."""
    if template.background_key is not None:
        template.background_key = None
        template.background_sha256 = None
        template.version += 1
        template.updated_by_id = by_id
        template.updated_at = utcnow()
        session.flush()
    return template


def preview_pdf(
    session: Session,
    template: CertificateTemplate | None,
    settings: Settings,
    *,
    layout_text: str | None = None,
) -> bytes:
    """An unsigned PDF of sample data in this template (or an unsaved layout for it)."""
    layout: Layout = (
        parse_layout(layout_text)
        if layout_text is not None
        else (parse_layout(template.layout_json) if template is not None else DEFAULT_LAYOUT)
    )
    background = None
    sha = None
    if template is not None and template.background_key:
        base = to_render_template(template, settings)
        background, sha = base.background, base.background_sha256
    render_template = pdf.RenderTemplate(
        layout=layout, background=background, background_sha256=sha, key="preview"
    )
    sample = pdf.sample_data(settings)
    signer = signer_for(template, settings)
    sample = dataclasses.replace(
        sample, signer_name=signer.name, signer_nip=signer.nip or sample.signer_nip,
        signer_jabatan=signer.jabatan,
    )  # fmt: skip
    return pdf.render(sample, render_template, settings)
