"""Keys: `lms keys init` makes a CA, a PAdES signing certificate (PKCS#12) and an Ed25519
credential key with private files 0600; first use outside production makes them; production
refuses to invent them; a real PKCS#12 from settings is used as given."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from app.certificates import keys, pdf, signing
from app.cli import cli


@pytest.fixture(autouse=True)
def _fresh_caches():  # type: ignore[no-untyped-def]
    keys.forget_keys()
    signing.forget_signers()
    yield
    keys.forget_keys()
    signing.forget_signers()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_keys_makes_every_file_with_private_permissions(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    written = keys.init_keys(folder, "BKPSDM Kabupaten Contoh")
    names = {p.name for p in written}
    assert names == {
        keys.CA_CERT,
        keys.CA_KEY,
        keys.SIGNING_P12,
        keys.SIGNING_PASSWORD,
        keys.CREDENTIAL_KEY,
    }
    for name in (keys.CA_KEY, keys.SIGNING_P12, keys.SIGNING_PASSWORD, keys.CREDENTIAL_KEY):
        assert _mode(folder / name) == 0o600, name
    assert _mode(folder) == 0o700

    password = (folder / keys.SIGNING_PASSWORD).read_bytes()
    key, cert, chain = pkcs12.load_key_and_certificates(
        (folder / keys.SIGNING_P12).read_bytes(), password
    )
    ca = x509.load_pem_x509_certificate((folder / keys.CA_CERT).read_bytes())
    assert key is not None and cert is not None
    assert cert.issuer == ca.subject and [c.subject for c in chain] == [ca.subject]
    assert (
        ca.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
        == "BKPSDM Kabupaten Contoh"
    )
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment  # nonRepudiation
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (
        ExtendedKeyUsageOID.EMAIL_PROTECTION
        in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    )
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=365 * 9)


def test_init_keys_keeps_existing_keys_unless_forced(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    keys.init_keys(folder, "A")
    before = (folder / keys.SIGNING_P12).read_bytes()
    assert keys.init_keys(folder, "A") == []
    assert (folder / keys.SIGNING_P12).read_bytes() == before
    assert keys.init_keys(folder, "A", force=True)
    assert (folder / keys.SIGNING_P12).read_bytes() != before


def test_cli_keys_init(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["keys", "init", "--keys-dir", str(tmp_path / "k")])
    assert first.exit_code == 0, first.output
    assert "ca.pem" in first.output and "signing.p12" in first.output
    again = runner.invoke(cli, ["keys", "init", "--keys-dir", str(tmp_path / "k")])
    assert again.exit_code == 0 and "already present" in again.output
    forced = runner.invoke(cli, ["keys", "init", "--keys-dir", str(tmp_path / "k"), "--force"])
    assert forced.exit_code == 0 and "wrote" in forced.output


def test_ensure_keys_creates_on_first_use_outside_production(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    local = settings.model_copy(update={"keys_dir": str(tmp_path / "auto")})
    paths = keys.ensure_keys(local)
    assert paths.signing_p12.exists() and paths.credential_key.exists() and paths.ca_cert.exists()


def test_production_refuses_to_invent_keys(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prod = settings.model_copy(
        update={"environment": "production", "keys_dir": str(tmp_path / "none")}
    )
    with pytest.raises(keys.KeysMissing, match="lms keys init"):
        keys.ensure_keys(prod)
    assert not (tmp_path / "none" / keys.SIGNING_P12).exists()


def test_production_with_keys_works(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keys.init_keys(tmp_path / "k", "BKPSDM")
    prod = settings.model_copy(
        update={"environment": "production", "keys_dir": str(tmp_path / "k")}
    )
    assert keys.ensure_keys(prod).signing_p12.exists()


def _real_pkcs12(folder: Path, password: str) -> tuple[Path, Path]:
    """An agency-style RSA PKCS#12 from its own CA (not made by init_keys)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA Instansi Uji")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Kepala BKPSDM Uji")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    folder.mkdir(parents=True)
    p12 = folder / "agency.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"agency", key, cert, [ca], serialization.BestAvailableEncryption(password.encode())
        )
    )
    ca_pem = folder / "agency-ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return p12, ca_pem


def test_configured_pkcs12_signs_and_verifies(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p12, _ca = _real_pkcs12(tmp_path / "agency", "rahasia-instansi")
    configured = settings.model_copy(
        update={
            "keys_dir": str(tmp_path / "k"),
            "signing_pkcs12_path": str(p12),
            "signing_pkcs12_password": "rahasia-instansi",
        }
    )
    signed = signing.get_signer(configured).sign(
        pdf.render(pdf.sample_data(configured), pdf.DEFAULT_TEMPLATE, configured)
    )
    check = signing.signature_check(signed, configured)
    assert check.authentic, check.reason
    assert check.signer and "Kepala BKPSDM Uji" in check.signer
    # The default keys folder's signer does not trust the agency's CA.
    keys.init_keys(tmp_path / "other", "Lain")
    other = settings.model_copy(update={"keys_dir": str(tmp_path / "other")})
    assert not signing.signature_check(signed, other).trusted


def test_missing_configured_pkcs12_is_a_clear_error(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    configured = settings.model_copy(
        update={"keys_dir": str(tmp_path / "k"), "signing_pkcs12_path": str(tmp_path / "nope.p12")}
    )
    with pytest.raises(keys.KeysMissing, match=r"nope\.p12"):
        keys.ensure_keys(configured)


def test_credential_key_and_jwk_sign_and_verify_eddsa(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    local = settings.model_copy(update={"keys_dir": str(tmp_path / "cred")})
    private = keys.credential_private_key(local)
    jwk = keys.credential_public_jwk(local)
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["alg"] == "EdDSA" and jwk["kid"]
    token = jwt.encode(
        {"sub": "urn:uuid:1"}, private, algorithm="EdDSA", headers={"kid": jwk["kid"]}
    )
    public = jwt.PyJWK(jwk).key
    assert jwt.decode(token, public, algorithms=["EdDSA"])["sub"] == "urn:uuid:1"
    assert keys.credential_public_jwk(local) == jwk  # stable across calls
