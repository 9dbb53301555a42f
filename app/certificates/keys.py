"""The institution's keys: a local root CA, a PAdES signing certificate (PKCS#12) and the Ed25519
key that signs verifiable credentials. `lms keys init` makes them; outside production they are
made on first use so the demo needs no manual step.

Files in `settings.keys_dir` (private files 0600):
  ca.pem                    root CA certificate (trust anchor for verification)
  ca-key.pem                root CA private key (only needed to make a new signing certificate)
  signing.p12               signing key + certificate + CA chain (PKCS#12)
  signing.p12.password      its password, unless settings.signing_pkcs12_password is set
  credential-ed25519.pem    Ed25519 private key for VC-JWT (EdDSA)

Key choice: ECDSA P-256 for the CA and the signing certificate — as strong as RSA-3072, signs in
~0.05 ms instead of ~1 ms for RSA-2048, and pyHanko, poppler/NSS and Adobe Reader all accept it.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.core.config import Settings

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SIGNING_P12 = "signing.p12"
SIGNING_PASSWORD = "signing.p12.password"  # noqa: S105 - a file name, not a password
CREDENTIAL_KEY = "credential-ed25519.pem"

CA_YEARS = 20
SIGNING_YEARS = 10

# Document Signing (Adobe / ETSI); some validators look for it, none reject it.
_EKU_DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")
_EKU_ADOBE_AUTHENTIC_DOCUMENTS = x509.ObjectIdentifier("1.2.840.113583.1.1.5")


class KeysMissing(RuntimeError):
    """Production refuses to invent keys: the operator must run `lms keys init` or configure
    real ones."""


@dataclass(frozen=True, slots=True)
class KeyPaths:
    """Where each key file lives for a given configuration."""

    keys_dir: Path
    ca_cert: Path
    ca_key: Path
    signing_p12: Path
    signing_password: Path
    credential_key: Path


def key_paths(settings: Settings) -> KeyPaths:
    """Resolve the configured paths; explicit settings win over the keys_dir defaults."""
    base = Path(settings.keys_dir).expanduser()
    return KeyPaths(
        keys_dir=base,
        ca_cert=base / CA_CERT,
        ca_key=base / CA_KEY,
        signing_p12=Path(settings.signing_pkcs12_path).expanduser()
        if settings.signing_pkcs12_path
        else base / SIGNING_P12,
        signing_password=base / SIGNING_PASSWORD,
        credential_key=Path(settings.credential_key_path).expanduser()
        if settings.credential_key_path
        else base / CREDENTIAL_KEY,
    )


def _write_atomic(path: Path, data: bytes, *, private: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        if private:
            os.fchmod(fd, 0o600)
        else:
            os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _dir_lock(directory: Path) -> Iterator[None]:
    """Serialise key creation across processes (tests and the process pool start together)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _name(institution_name: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, institution_name[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def _make_ca(
    institution_name: str, now: dt.datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(institution_name, f"{institution_name} Root CA")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_signing(
    institution_name: str,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    now: dt.datetime,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(institution_name, f"{institution_name} Penandatangan Sertifikat"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(
            min(now + dt.timedelta(days=365 * SIGNING_YEARS), ca_cert.not_valid_after_utc)
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [
                    _EKU_DOCUMENT_SIGNING,
                    _EKU_ADOBE_AUTHENTIC_DOCUMENTS,
                    ExtendedKeyUsageOID.EMAIL_PROTECTION,
                ]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def init_keys(
    keys_dir: Path | str,
    institution_name: str,
    *,
    force: bool = False,
    pkcs12_password: str | None = None,
) -> list[Path]:
    """Make the CA, signing PKCS#12 and credential key in `keys_dir`; existing files are kept
    unless `force`. Returns the files written."""
    base = Path(keys_dir).expanduser()
    written: list[Path] = []
    with _dir_lock(base):
        os.chmod(base, 0o700)
        now = dt.datetime.now(dt.UTC)
        ca_cert_path, ca_key_path = base / CA_CERT, base / CA_KEY
        p12_path, pass_path = base / SIGNING_P12, base / SIGNING_PASSWORD
        cred_path = base / CREDENTIAL_KEY
        new_ca = force or not (ca_cert_path.exists() and ca_key_path.exists())
        if new_ca:
            ca_key, ca_cert = _make_ca(institution_name, now)
            _write_atomic(
                ca_key_path,
                ca_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
                private=True,
            )
            _write_atomic(
                ca_cert_path, ca_cert.public_bytes(serialization.Encoding.PEM), private=False
            )
            written += [ca_key_path, ca_cert_path]
        else:
            loaded_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
            if not isinstance(loaded_key, ec.EllipticCurvePrivateKey):
                raise KeysMissing(f"{ca_key_path}: expected an ECDSA CA key")
            ca_key = loaded_key
            ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        if new_ca or force or not p12_path.exists():
            password = pkcs12_password or secrets.token_urlsafe(24)
            key, cert = _make_signing(institution_name, ca_key, ca_cert, now)
            blob = pkcs12.serialize_key_and_certificates(
                name=b"lms-signing",
                key=key,
                cert=cert,
                cas=[ca_cert],
                encryption_algorithm=serialization.BestAvailableEncryption(password.encode()),
            )
            _write_atomic(p12_path, blob, private=True)
            written.append(p12_path)
            if pkcs12_password is None:
                _write_atomic(pass_path, password.encode(), private=True)
                written.append(pass_path)
        if force or not cred_path.exists():
            cred = Ed25519PrivateKey.generate()
            _write_atomic(
                cred_path,
                cred.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
                private=True,
            )
            written.append(cred_path)
    return written


_ensured: set[tuple[str, str | None, str | None]] = set()
_ensure_lock = threading.Lock()


def ensure_keys(settings: Settings) -> KeyPaths:
    """The key files, made on first use outside production; production with a missing file
    raises KeysMissing naming it and the command that makes it."""
    paths = key_paths(settings)
    marker = (settings.keys_dir, settings.signing_pkcs12_path, settings.credential_key_path)
    with _ensure_lock:
        if marker in _ensured:
            return paths
        custom_p12 = settings.signing_pkcs12_path is not None
        needed = [paths.credential_key, paths.signing_p12]
        if not custom_p12:
            needed.append(paths.ca_cert)
        missing = [p for p in needed if not p.exists()]
        if missing:
            if settings.environment == "production":
                raise KeysMissing(
                    "signing keys missing: "
                    + ", ".join(str(p) for p in missing)
                    + " — run `lms keys init` or set LMS_SIGNING_PKCS12_PATH / "
                    "LMS_CREDENTIAL_KEY_PATH"
                )
            if custom_p12 and not paths.signing_p12.exists():
                raise KeysMissing(
                    f"LMS_SIGNING_PKCS12_PATH points at a missing file: {paths.signing_p12}"
                )
            if settings.credential_key_path and not paths.credential_key.exists():
                raise KeysMissing(
                    f"LMS_CREDENTIAL_KEY_PATH points at a missing file: {paths.credential_key}"
                )
            init_keys(paths.keys_dir, settings.institution_name)
        _ensured.add(marker)
    return paths


def forget_keys() -> None:
    """Drop every per-process cache of keys (tests that swap key folders)."""
    with _ensure_lock:
        _ensured.clear()
    _load_pkcs12_cached.cache_clear()
    _credential_cached.cache_clear()


def signing_password(settings: Settings) -> bytes:
    """The PKCS#12 password: the setting, else the generated file beside the keys."""
    if settings.signing_pkcs12_password is not None:
        return settings.signing_pkcs12_password.encode()
    path = key_paths(settings).signing_password
    if not path.exists():
        raise KeysMissing(
            f"no password for the signing PKCS#12: set LMS_SIGNING_PKCS12_PASSWORD or create {path}"
        )
    return path.read_bytes().strip()


@dataclass(frozen=True, slots=True)
class SigningMaterial:
    """The loaded signing key, its certificate and the rest of the chain from the PKCS#12."""

    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | Ed25519PrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    pkcs12_bytes: bytes
    password: bytes


@lru_cache(maxsize=4)
def _load_pkcs12_cached(path: str, mtime_ns: int, password: bytes) -> SigningMaterial:
    blob = Path(path).read_bytes()
    key, cert, extra = pkcs12.load_key_and_certificates(blob, password)
    if key is None or cert is None:
        raise KeysMissing(f"{path}: the PKCS#12 holds no private key and certificate")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | Ed25519PrivateKey):
        raise KeysMissing(f"{path}: the signing key must be RSA, ECDSA or Ed25519")
    return SigningMaterial(key, cert, tuple(extra), blob, password)


def signing_material(settings: Settings) -> SigningMaterial:
    """The institution's signing key and certificate (cached per process and file version)."""
    paths = ensure_keys(settings)
    return _load_pkcs12_cached(
        str(paths.signing_p12), paths.signing_p12.stat().st_mtime_ns, signing_password(settings)
    )


def trust_roots(settings: Settings) -> list[x509.Certificate]:
    """Certificates verification trusts: the local CA plus the top of the PKCS#12 chain."""
    paths = ensure_keys(settings)
    roots: list[x509.Certificate] = []
    # A configured (agency) PKCS#12 brings its own chain; a leftover local CA is not trusted then.
    if settings.signing_pkcs12_path is None and paths.ca_cert.exists():
        roots.extend(x509.load_pem_x509_certificates(paths.ca_cert.read_bytes()))
    material = signing_material(settings)
    for cert in material.chain:
        if cert.subject == cert.issuer and cert not in roots:
            roots.append(cert)
    if not roots:
        # A PKCS#12 without its chain: trust the signing certificate itself.
        roots.append(material.cert)
    return roots


@lru_cache(maxsize=4)
def _credential_cached(path: str, mtime_ns: int) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise KeysMissing(f"{path}: expected an Ed25519 private key (PEM)")
    return key


def credential_private_key(settings: Settings) -> Ed25519PrivateKey:
    """The Ed25519 key that signs verifiable credentials (VC-JWT, alg EdDSA)."""
    path = ensure_keys(settings).credential_key
    return _credential_cached(str(path), path.stat().st_mtime_ns)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def credential_public_jwk(settings: Settings) -> dict[str, str]:
    """The credential key's public half as an OKP JWK (RFC 8037) with a thumbprint `kid`."""
    public = (
        credential_private_key(settings)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    x = _b64url(public)
    # RFC 7638 thumbprint: members in lexicographic order, no whitespace.
    thumb_input = f'{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}'.encode()
    digest = hashes.Hash(hashes.SHA256())
    digest.update(thumb_input)
    kid = _b64url(digest.finalize())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}
