"""Password hashing (argon2id via argon2-cffi) and the password policy.

Policy: minimum length from settings, not all one character, not in a small deny list of
passwords seen in Indonesian and global breach lists, not the user's own NIP or email.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.core.config import get_settings
from app.core.errors import ValidationFailed


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


def check_password_policy(
    password: str, *, min_length: int, personal: tuple[str | None, ...] = ()
) -> None:
    """Raise ValidationFailed(field='password') naming the rule a weak password breaks."""
    if len(password) < min_length:
        raise ValidationFailed(
            f"Kata sandi minimal {min_length} karakter (diterima {len(password)}).",
            field="password",
            code="weak_password",
        )
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) <= 2:
        raise ValidationFailed(
            "Kata sandi terlalu umum dan mudah ditebak; pilih yang lain.",
            field="password",
            code="weak_password",
        )
    for value in personal:
        if value and value.lower() in lowered:
            raise ValidationFailed(
                "Kata sandi tidak boleh memuat NIP atau email Anda.",
                field="password",
                code="weak_password",
            )
