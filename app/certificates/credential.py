"""The certificate as an Open Badges 3.0 / W3C Verifiable Credential (VCDM 2.0), secured as a
VC-JWT: a compact JWS (alg EdDSA, Ed25519) whose payload is the credential itself.

Choice (documented in the API): GET /api/v1/certificates/{id}/credential answers the credential
JSON with the JWS in `proof` ({type: "JwtProof2020", jwt}); with `Accept: application/vc+jwt`
it answers the compact JWS alone (media type application/vc+jwt), which is the form a wallet or
verifier checks with the issuer key from GET /api/v1/verify/keys (JWKS).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.certificates import keys
from app.core import clock
from app.core.config import Settings

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
MEDIA_TYPE = "application/vc+jwt"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def issuer_id(settings: Settings) -> str:
    return settings.absolute_url("/api/v1/verify/issuer")


def build(fields: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The OpenBadgeCredential for a certificate snapshot (`fields`: the certificate's columns
    as issued: code, number, holder_*, course_*, run_*, jp, score, predikat, issued_at,
    valid_until)."""
    base = settings.base_url.rstrip("/")
    verify = f"{base}/verify/{fields['code']}"
    issued_at: dt.datetime = fields["issued_at"]
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "name": fields["holder_name"],
        "achievement": {
            "id": f"{base}/courses/{fields['course_id']}",
            "type": ["Achievement"],
            "achievementType": "Course",
            "name": fields["course_title"],
            "description": f"{fields['course_title']} ({fields['run_name']})",
            "criteria": {"narrative": "Menyelesaikan seluruh aktivitas wajib dan lulus post-test."},
            "creditsAvailable": float(fields["jp"]),
            "humanCode": fields["course_code"],
        },
        "result": [],
        "creditsEarned": float(fields["jp"]),
        "term": f"{fields['run_starts_on']:%Y-%m-%d}/{fields['run_ends_on']:%Y-%m-%d}",
    }
    if fields.get("holder_nip"):
        subject["identifier"] = [
            {
                "type": "IdentityObject",
                "identityHash": fields["holder_nip"],
                "identityType": "identifier",
                "hashed": False,
            }
        ]
    if fields.get("score") is not None or fields.get("predikat"):
        subject["result"] = [
            {
                "type": ["Result"],
                "value": None if fields.get("score") is None else f"{fields['score']:g}",
                "status": "Completed",
                "achievedLevel": fields.get("predikat"),
            }
        ]
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": verify,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"Sertifikat {fields['course_title']}",
        "issuer": {
            "id": issuer_id(settings),
            "type": ["Profile"],
            "name": fields.get("issuer") or settings.institution_name,
            "url": base,
        },
        "validFrom": _iso(issued_at),
        "credentialSubject": subject,
        "credentialStatus": {
            "id": f"{base}/api/v1/verify/{fields['code']}",
            "type": "VerificationStatusEndpoint",
        },
        "evidence": [{"id": verify, "type": ["Evidence"], "name": fields["number"]}],
    }
    if fields.get("valid_until"):
        # valid through that date where the institution is: until its local midnight
        ends = clock.start_of_day(fields["valid_until"] + dt.timedelta(days=1))
        credential["validUntil"] = _iso(ends - dt.timedelta(seconds=1))
    return credential


_material: tuple[tuple[str, str | None], float, Ed25519PrivateKey, str] | None = None
MATERIAL_SECONDS = 60.0  # a rotated key is picked up within a minute


def _signing_key(settings: Settings) -> tuple[Ed25519PrivateKey, str]:
    """The credential key and its kid, looked up at most once a minute (bulk issuance signs
    thousands of credentials; the lookup costs more than the signature)."""
    global _material
    where = (settings.keys_dir, settings.credential_key_path)
    now = time.monotonic()
    if _material is None or _material[0] != where or now - _material[1] > MATERIAL_SECONDS:
        key = keys.credential_private_key(settings)
        _material = (where, now, key, keys.credential_public_jwk(settings)["kid"])
    return _material[2], _material[3]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(credential: dict[str, Any], settings: Settings) -> str:
    """VC-JWT: a compact JWS (RFC 7515, alg EdDSA / RFC 8037) whose payload is the credential
    plus the registered claims verifiers look for (iss, jti)."""
    key, kid = _signing_key(settings)
    claims = dict(credential)
    claims.update({"iss": credential["issuer"]["id"], "jti": credential["id"]})
    header = {"alg": "EdDSA", "kid": kid, "typ": "vc+jwt", "cty": "vc"}
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False, default=str).encode())
    )
    return signing_input + "." + _b64(key.sign(signing_input.encode("ascii")))


def decode(token: str, settings: Settings) -> dict[str, Any]:
    """Check a VC-JWT with the institution's public key; returns the credential."""
    public = keys.credential_private_key(settings).public_key()
    claims: dict[str, Any] = jwt.decode(token, public, algorithms=["EdDSA"])
    return claims


def with_proof(token: str, settings: Settings) -> dict[str, Any]:
    """The JSON answer: the credential (from the signed payload) with the JWS as its proof."""
    claims = jwt.decode(token, options={"verify_signature": False})
    credential = {k: v for k, v in claims.items() if k not in ("iss", "jti")}
    credential["proof"] = {
        "type": "JwtProof2020",
        "proofPurpose": "assertionMethod",
        "verificationMethod": f"{issuer_id(settings)}#{keys.credential_public_jwk(settings)['kid']}",
        "jwt": token,
    }
    return credential
