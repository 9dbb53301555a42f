"""Rules for OPDs and ASN accounts: profile validation, creation, updates, roles.

Other domains read users through this module (`get_user_view`, `UserView`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts import repository
from app.accounts.constants import PANGKAT_BY_EMPLOYMENT, Employment, JenisJabatan, Role
from app.accounts.models import Opd, User, UserRole
from app.accounts.nip import NIPError, normalise_nip, parse_nip
from app.accounts.passwords import check_password_policy, hash_password
from app.accounts.schemas import OpdCreate, OpdRead, OpdRef, UserCreate, UserRead, UserUpdate
from app.audit import service as audit
from app.core import events, readcache
from app.core.config import Settings, get_settings
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.i18n import gettext_ as _


@dataclass(slots=True)
class Profile:
    """A user's identity fields after normalisation, ready to store."""

    nip: str | None
    name: str
    email: str | None
    employment: str | None
    pangkat_golongan: str | None
    jabatan: str | None
    jenis_jabatan: str | None
    phone: str | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)


def normalise_email(raw: str | None) -> str | None:
    """Lower-cased, syntax-checked email (no DNS look-up: the LMS may run offline)."""
    if raw is None or not raw.strip():
        return None
    return validate_email(raw.strip(), check_deliverability=False).normalized.lower()


# WhatsApp reaches mobile numbers; a fixed line (021...) would never get the message.
_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def normalise_phone(raw: str | None) -> str | None:
    """A WhatsApp number in E.164 (+62...): '0812-3456-7890', '62812...', '+62 812...' and
    '812...' (a spreadsheet that dropped the leading zero) are read as Indonesian numbers."""
    if raw is None or not str(raw).strip():
        return None
    text = str(raw).strip()
    if text.endswith(".0") and text[:-2].isdigit():  # a number cell read as a float
        text = text[:-2]
    try:
        number = phonenumbers.parse(text, "ID")
    except phonenumbers.NumberParseException:
        raise ValueError(_("Nomor HP '%(v)s' tidak terbaca; tulis seperti 0812-3456-7890.")
                         % {"v": text}) from None  # fmt: skip
    if not phonenumbers.is_valid_number(number):
        raise ValueError(
            _("Nomor HP '%(v)s' tidak sah; tulis seperti 0812-3456-7890.") % {"v": text}
        )
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise ValueError(
            _("Nomor '%(v)s' bukan nomor seluler; WhatsApp memerlukan nomor HP.") % {"v": text}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_profile(
    *,
    nip: str | None,
    name: str | None,
    email: str | None,
    employment: str | None,
    pangkat_golongan: str | None,
    jabatan: str | None = None,
    jenis_jabatan: str | None = None,
    phone: str | None = None,
) -> Profile:
    """Validate identity fields without the database; every problem lands in `errors`."""
    errors: list[tuple[str, str]] = []
    clean_nip = None
    nip_hint = None
    if nip is not None and str(nip).strip():
        try:
            info = parse_nip(str(nip))
            clean_nip, nip_hint = info.nip, info.employment_hint
        except NIPError as exc:
            errors.append(("nip", str(exc)))
    clean_name = " ".join((name or "").split())
    if not clean_name:
        errors.append(("name", "Nama wajib diisi."))
    clean_email = None
    try:
        clean_email = normalise_email(email)
    except EmailNotValidError as exc:
        errors.append(("email", f"Email tidak sah: {exc}"))
    clean_phone = None
    try:
        clean_phone = normalise_phone(phone)
    except ValueError as exc:
        errors.append(("phone", str(exc)))
    clean_employment = None
    if employment is not None and str(employment).strip():
        value = str(employment).strip().upper()
        if value not in Employment.__members__:
            errors.append(("employment", "Jenis pegawai harus PNS atau PPPK."))
        else:
            clean_employment = value
            if nip_hint is not None and nip_hint != value:
                errors.append(("employment", f"NIP berformat {nip_hint.value}, bukan {value}."))
    elif nip_hint is not None:
        clean_employment = nip_hint.value
    clean_pangkat = None
    if pangkat_golongan is not None and str(pangkat_golongan).strip():
        clean_pangkat = _normalise_pangkat(str(pangkat_golongan))
        allowed = (
            PANGKAT_BY_EMPLOYMENT.get(Employment(clean_employment)) if clean_employment else None
        )
        every = PANGKAT_BY_EMPLOYMENT[Employment.PNS] + PANGKAT_BY_EMPLOYMENT[Employment.PPPK]
        if clean_pangkat not in (allowed or every):
            errors.append(
                (
                    "pangkat_golongan",
                    f"Pangkat/golongan '{pangkat_golongan}' tidak dikenal"
                    + (f" untuk {clean_employment}" if clean_employment else "")
                    + " (contoh: III/a untuk PNS, IX untuk PPPK).",
                )
            )
    clean_jenis = None
    if jenis_jabatan is not None and str(jenis_jabatan).strip():
        value = str(jenis_jabatan).strip()
        by_lower = {j.value.lower(): j.value for j in JenisJabatan}
        clean_jenis = by_lower.get(value.lower())
        if clean_jenis is None:
            errors.append(
                (
                    "jenis_jabatan",
                    "Jenis jabatan harus salah satu dari: " + ", ".join(by_lower.values()) + ".",
                )
            )
    return Profile(
        nip=clean_nip,
        name=clean_name,
        email=clean_email,
        employment=clean_employment,
        pangkat_golongan=clean_pangkat,
        jabatan=(jabatan or "").strip() or None,
        jenis_jabatan=clean_jenis,
        phone=clean_phone,
        errors=errors,
    )


def _normalise_pangkat(raw: str) -> str:
    """' iii / A ' -> 'III/a'; 'ix' -> 'IX'."""
    text = raw.replace(" ", "")
    if "/" in text:
        gol, ruang = text.split("/", 1)
        return f"{gol.upper()}/{ruang.lower()}"
    return text.upper()


def _raise_first(profile: Profile) -> None:
    if profile.errors:
        fld, msg = profile.errors[0]
        raise ValidationFailed(
            msg, field=fld, errors=[{"field": f, "message": m} for f, m in profile.errors]
        )


def to_read(user: User) -> UserRead:
    """Plain data for a user whose roles and OPD were loaded."""
    return UserRead(
        id=user.id,
        nip=user.nip,
        name=user.name,
        email=user.email,
        phone=user.phone,
        roles=sorted(user.role_names),
        opd=OpdRef(code=user.opd.code, name=user.opd.name) if user.opd else None,
        employment=user.employment,
        pangkat_golongan=user.pangkat_golongan,
        jabatan=user.jabatan,
        jenis_jabatan=user.jenis_jabatan,
        is_active=user.is_active,
        activated_at=user.activated_at,
        pseudonymised_at=user.pseudonymised_at,
    )


# A user's own account as `GET /api/v1/me` shows it, per user id: asked for on every page load
# of an API client, changed rarely (app/core/readcache.py).
own_accounts = readcache.WatchedCache(
    "own_account", {"user_account", "user_role", "opd"},
    lambda: get_settings().read_cache_seconds, max_entries=20_000,
)  # fmt: skip


def own_account_json(session: Session, user_id: int) -> bytes:
    """`read_user` as the JSON the API sends, from this process's cache when it has it."""
    found: bytes | None = own_accounts.get(user_id)
    if found is not None:
        return found
    generation = own_accounts.generation
    user = read_user(session, user_id)
    body = user.__pydantic_serializer__.to_json(user, by_alias=True)
    own_accounts.put(user_id, body, generation)
    return body


def read_user(session: Session, user_id: int) -> UserRead:
    """`to_read` of one user from a single query (the hot `GET /api/v1/me`)."""
    rows = repository.user_read_rows(session, user_id)
    if not rows:
        raise NotFound("Pengguna tidak ditemukan.", code="user_not_found")
    u = rows[0]
    return UserRead(
        id=u.id, nip=u.nip, name=u.name, email=u.email, phone=u.phone,
        roles=sorted({r.role for r in rows if r.role}),
        opd=OpdRef(code=u.opd_code, name=u.opd_name) if u.opd_code is not None else None,
        employment=u.employment, pangkat_golongan=u.pangkat_golongan, jabatan=u.jabatan,
        jenis_jabatan=u.jenis_jabatan, is_active=u.is_active, activated_at=u.activated_at,
        pseudonymised_at=u.pseudonymised_at,
    )  # fmt: skip


def get_user(session: Session, user_id: int) -> User:
    user = repository.get_user(session, user_id)
    if user is None:
        raise NotFound("Pengguna tidak ditemukan.", code="user_not_found")
    return user


def employment_of(session: Session, user_id: int) -> str | None:
    """A user's employment (PNS, PPPK...) without loading the OPD and roles get_user brings."""
    user = repository.user_row(session, user_id)
    if user is None:
        raise NotFound("Pengguna tidak ditemukan.", code="user_not_found")
    return user.employment


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a session or token belongs to: what every request needs, read in one query."""

    user_id: int
    name: str
    is_active: bool
    roles: frozenset[str]


def identity(session: Session, user_id: int) -> Identity | None:
    rows = repository.identity_rows(session, user_id)
    if not rows:
        return None
    return Identity(
        user_id, rows[0].name, rows[0].is_active, frozenset(r.role for r in rows if r.role)
    )


def load_user(session: Session, user_id: int) -> User | None:
    """A user with roles and OPD, or None."""
    return repository.get_user(session, user_id)


def user_by_nip(session: Session, nip: str) -> User | None:
    return repository.get_user_by_nip(session, normalise_nip(nip)) if nip.strip() else None


def email_taken(session: Session, email: str, *, by_other_than: int | None) -> bool:
    """Another account already uses this (normalised) e-mail."""
    other = repository.get_user_by_email(session, email)
    return other is not None and other.id != by_other_than


def find_login_user(session: Session, identifier: str) -> User | None:
    """The account a login name (NIP or email) points at, if any."""
    ident = identifier.strip()
    if not ident:
        return None
    if "@" not in ident:
        ident = normalise_nip(ident)
    return repository.get_user_by_login(session, ident)


def _opd_id(session: Session, code: str | None) -> int | None:
    if code is None or not code.strip():
        return None
    opd = repository.get_opd_by_code(session, code.strip().upper())  # codes are stored upper-case
    if opd is None:
        raise ValidationFailed(
            _("Kode OPD '%(code)s' tidak ditemukan.") % {"code": code}, field="opd_code"
        )
    return opd.id


def _check_unique(
    session: Session, *, nip: str | None, email: str | None, user_id: int | None
) -> None:
    if nip:
        other = repository.get_user_by_nip(session, nip)
        if other is not None and other.id != user_id:
            raise Conflict(_("NIP %(nip)s sudah terdaftar.") % {"nip": nip}, code="duplicate_nip")
    if email:
        other = repository.get_user_by_email(session, email)
        if other is not None and other.id != user_id:
            raise Conflict(
                _("Email %(email)s sudah dipakai akun lain.") % {"email": email},
                code="duplicate_email",
            )


def set_password(user: User, password: str, settings: Settings) -> None:
    """Apply the password policy, then store an argon2id hash."""
    local_part = (user.email or "").split("@")[0]
    check_password_policy(
        password,
        min_length=settings.password_min_length,
        personal=(user.nip, user.email, local_part if len(local_part) >= 4 else None),
    )
    user.password_hash = hash_password(password)


def create_user(session: Session, data: UserCreate, settings: Settings) -> User:
    profile = check_profile(
        nip=data.nip,
        name=data.name,
        email=data.email,
        employment=data.employment,
        pangkat_golongan=data.pangkat_golongan,
        jabatan=data.jabatan,
        jenis_jabatan=data.jenis_jabatan,
        phone=data.phone,
    )
    _raise_first(profile)
    if profile.nip is None and profile.email is None:
        raise ValidationFailed("Isi NIP atau email agar pengguna dapat masuk.", field="nip")
    _check_unique(session, nip=profile.nip, email=profile.email, user_id=None)
    user = User(
        nip=profile.nip,
        name=profile.name,
        email=profile.email,
        phone=profile.phone,
        employment=profile.employment,
        pangkat_golongan=profile.pangkat_golongan,
        jabatan=profile.jabatan,
        jenis_jabatan=profile.jenis_jabatan,
        opd_id=_opd_id(session, data.opd_code),
        is_active=True,
    )
    if data.password:
        set_password(user, data.password, settings)
    user.roles = [UserRole(role=r.value) for r in sorted(set(data.roles or [Role.LEARNER]))]
    try:
        repository.add(session, user)
    except IntegrityError:  # a concurrent create of the same NIP/email
        raise Conflict("NIP atau email sudah terdaftar.", code="duplicate_nip") from None
    audit.record(session, "account.created", target=("user", user.id),
                 after={"nip": user.nip, "name": user.name, "opd_id": user.opd_id,
                        "roles": sorted(r.role for r in user.roles)})  # fmt: skip
    return get_user(session, user.id)


def update_user(session: Session, user: User, data: UserUpdate, settings: Settings) -> User:
    """Change profile fields, roles or password (activation goes through auth.service)."""
    fields = data.model_fields_set
    was = _audited(user)
    profile = check_profile(
        nip=user.nip,
        name=data.name if "name" in fields else user.name,
        email=data.email if "email" in fields else user.email,
        employment=data.employment if "employment" in fields else user.employment,
        pangkat_golongan=data.pangkat_golongan
        if "pangkat_golongan" in fields
        else user.pangkat_golongan,
        jabatan=data.jabatan if "jabatan" in fields else user.jabatan,
        jenis_jabatan=data.jenis_jabatan if "jenis_jabatan" in fields else user.jenis_jabatan,
        phone=data.phone if "phone" in fields else user.phone,
    )
    _raise_first(profile)
    _check_unique(session, nip=None, email=profile.email, user_id=user.id)
    if profile.email != user.email:
        user.email_verified_at = None  # a new address has not been reached yet
    if profile.phone != user.phone:
        user.phone_verified_at = None
    user.name, user.email, user.phone = profile.name, profile.email, profile.phone
    user.employment, user.pangkat_golongan = profile.employment, profile.pangkat_golongan
    user.jabatan, user.jenis_jabatan = profile.jabatan, profile.jenis_jabatan
    if "opd_code" in fields:
        user.opd_id = _opd_id(session, data.opd_code)
    if data.password:
        set_password(user, data.password, settings)
    if data.roles is not None:
        if not data.roles:
            raise ValidationFailed("Pengguna harus punya paling sedikit satu peran.", field="roles")
        repository.set_roles(session, user.id, [r.value for r in data.roles])
    session.flush()
    _audit_update(session, user.id, was, _audited(user), data)
    events.user_changed(session, user.id)  # e.g. a completed profile may complete a run
    session.expire(user)
    return get_user(session, user.id)


_AUDITED = ("name", "email", "phone", "employment", "pangkat_golongan", "jabatan", "jenis_jabatan",
            "opd_id")  # fmt: skip


def _audited(user: User) -> dict[str, object]:
    return {**{f: getattr(user, f) for f in _AUDITED}, "roles": sorted(user.role_names)}


def _audit_update(
    session: Session, user_id: int, was: dict[str, object], now: dict[str, object],
    data: UserUpdate,
) -> None:  # fmt: skip
    old_roles = was.pop("roles")
    now.pop("roles")
    before, after = audit.changes(was, now)
    if data.password:
        before["password"], after["password"] = "***", "changed"
    if before or after:
        audit.record(session, "account.updated", target=("user", user_id), before=before,
                     after=after)  # fmt: skip
    new_roles = sorted({r.value for r in data.roles}) if data.roles is not None else old_roles
    if new_roles != old_roles:
        audit.record(session, "account.role_changed", target=("user", user_id),
                     before={"roles": old_roles}, after={"roles": new_roles})  # fmt: skip


def create_opd(session: Session, data: OpdCreate) -> OpdRead:
    code, name = data.code.strip().upper(), " ".join(data.name.split())
    if not code:
        raise ValidationFailed("Kode OPD wajib diisi.", field="code")
    if not name:
        raise ValidationFailed("Nama OPD wajib diisi.", field="name")
    if repository.get_opd_by_code(session, code) is not None:
        raise Conflict(_("Kode OPD %(code)s sudah ada.") % {"code": code}, code="duplicate_opd")
    parent = None
    if data.parent_code and data.parent_code.strip():
        parent = repository.get_opd_by_code(session, data.parent_code.strip().upper())
        if parent is None:
            raise ValidationFailed(
                _("OPD induk '%(parent_code)s' tidak ditemukan.")
                % {"parent_code": data.parent_code},
                field="parent_code",
            )
    opd = Opd(code=code, name=name, parent_id=parent.id if parent else None)
    repository.add(session, opd)
    return OpdRead(
        id=opd.id, code=opd.code, name=opd.name, parent_code=parent.code if parent else None
    )


def list_opds(session: Session) -> list[OpdRead]:
    return [
        OpdRead(id=o.id, code=o.code, name=o.name, parent_code=p, user_count=n)
        for o, p, n in repository.list_opds(session)
    ]


def list_users(
    session: Session,
    *,
    q: str | None = None,
    opd_code: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[int, list[UserRead]]:
    opd_id = _opd_id(session, opd_code) if opd_code else None
    q = (q or "").strip() or None
    if q and any(c.isdigit() for c in q) and all(c.isdigit() or c in " .-" for c in q):
        q = normalise_nip(q)  # a NIP searched the way it is printed: '19900101 201503 1 002'
    total, users = repository.list_users(
        session, q=q, opd_id=opd_id, offset=(max(page, 1) - 1) * per_page, limit=per_page
    )
    return total, [to_read(u) for u in users]


@dataclass(frozen=True, slots=True)
class ProfileView:
    """The identity fields other domains print or check (certificates: holder snapshot)."""

    user_id: int
    name: str
    nip: str | None
    employment: str | None
    pangkat_golongan: str | None
    jabatan: str | None
    opd_code: str | None
    opd_name: str | None


def profiles(session: Session, user_ids: Sequence[int]) -> dict[int, ProfileView]:
    """Profiles of many users in one query (no N+1)."""
    if not user_ids:
        return {}
    return {r[0]: ProfileView(*r) for r in repository.profile_rows(session, user_ids)}


def profile(session: Session, user_id: int) -> ProfileView:
    """One user's profile in one query (the home page's header, JP and certificate checks)."""
    row = repository.profile_row(session, user_id)
    if row is None:
        raise NotFound("Pengguna tidak ditemukan.", code="user_not_found")
    return ProfileView(*row)


def users_with_role(session: Session, role: str) -> list[tuple[int, str | None]]:
    """(user id, OPD code) of every active user with a role (digests for OPD heads, officers)."""
    return repository.users_with_role(session, role)
