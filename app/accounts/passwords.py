"""Password hashing (argon2id via argon2-cffi) and the password policy.

Policy: minimum length from settings, not all one or two characters, not a common password
(zxcvbn's bundled list of the 30,000 most frequent leaked passwords plus an Indonesian list,
also with a year or digits tacked on), not containing the user's own NIP or email.
"""

from __future__ import annotations

import re
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

from app.core.config import get_settings
from app.core.errors import ValidationFailed
from app.core.i18n import gettext_ as _


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    """argon2id; defaults are the library's RFC 9106 low-memory profile (64 MiB, 3 passes)."""
    settings = get_settings()
    return PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib, parallelism=1
    )


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against when the account does not exist, so that a wrong username costs as much
    # time as a wrong password.
    return _hasher().hash("dummy-password-for-timing-equalisation")


# Lower-cased; compared after lower-casing the candidate.
COMMON_PASSWORDS = frozenset(
    [
        "123456",
        "1234567",
        "12345678",
        "123456789",
        "1234567890",
        "0123456789",
        "12345678910",
        "password",
        "password1",
        "password123",
        "passw0rd",
        "qwerty",
        "qwerty123",
        "qwertyuiop",
        "asdfghjkl",
        "11111111",
        "00000000",
        "iloveyou",
        "admin",
        "admin123",
        "administrator",
        "welcome",
        "welcome1",
        "letmein",
        "abc12345",
        "abcd1234",
        "1q2w3e4r",
        "1qaz2wsx",
        "bismillah",
        "bismillah123",
        "indonesia",
        "indonesia123",
        "merdeka",
        "merdeka45",
        "jakarta123",
        "sayang",
        "sayangku",
        "rahasia",
        "rahasia123",
        "katasandi",
        "katasandi123",
        "pegawai",
        "pegawai123",
        "pnsku123",
        "asn12345",
        "bkpsdm123",
        "bkpsdm2024",
        "bkpsdm2025",
        "bkpsdm2026",
        "garuda123",
        "pancasila",
        "pancasila45",
        "sukses123",
        "alhamdulillah",
    ]
)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends one argon2 verification."""
    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled deny list: zxcvbn's leaked-password frequency list and the Indonesian one."""
    bundled: list[str] = FREQUENCY_LISTS["passwords"]
    return frozenset(p.lower() for p in bundled) | COMMON_PASSWORDS


# "bismillah2026", "Merdeka45!!": a common word with digits or symbols around it is guessed as
# early as the word itself.
_DECORATION = re.compile(r"^[\W\d_]+|[\W\d_]+$")


def is_common_password(password: str) -> bool:
    """In the deny list as typed, or once leading/trailing digits and symbols are removed."""
    lowered = password.lower()
    common = common_passwords()
    if lowered in common:
        return True
    core = _DECORATION.sub("", lowered)
    return len(core) >= 4 and core != lowered and core in common


def check_password_policy(
    password: str, *, min_length: int, personal: tuple[str | None, ...] = ()
) -> None:
    """Raise ValidationFailed(field='password') naming the rule a weak password breaks."""
    if len(password) < min_length:
        raise ValidationFailed(
            _("Kata sandi minimal %(min)d karakter (diterima %(n)d).")
            % {"min": min_length, "n": len(password)},
            field="password",
            code="weak_password",
        )
    lowered = password.lower()
    if len(set(lowered)) <= 2 or is_common_password(password):
        raise ValidationFailed(
            _("Kata sandi terlalu umum dan mudah ditebak (ada di daftar kata sandi yang sering "
              "dipakai); pilih yang lain."),
            field="password",
            code="weak_password",
        )  # fmt: skip
    for value in personal:
        if value and value.lower() in lowered:
            raise ValidationFailed(
                _("Kata sandi tidak boleh memuat NIP atau email Anda."),
                field="password",
                code="weak_password",
            )
