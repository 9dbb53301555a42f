"""The certificate as an Open Badges 3.0 / W3C Verifiable Credential (VCDM 2.0), in the two
forms OB 3.0 accepts (both validate against 1EdTech's OB 3.0 JSON Schema):

- VC-JWT: a compact JWS (alg EdDSA, Ed25519) whose payload is the credential plus the JWT claims
  OB 3.0 names (iss, jti, nbf, exp when validUntil); no embedded proof. Header `kid` is a URL that
  answers the public JWK (GET /api/v1/verify/keys/{thumbprint}); the JWKS is /api/v1/verify/keys.
  GET /api/v1/certificates/{id}/credential with `Accept: application/vc+jwt` answers it.
- JSON credential with an embedded DataIntegrityProof (cryptosuite eddsa-rdfc-2022, same key) in
  a `proof` array: the default answer of that route. Its verificationMethod is
  `{issuer id}#{publicKeyMultibase}`; the issuer profile (GET /api/v1/verify/issuer) lists that
  Multikey under `verificationMethod`/`assertionMethod`, so a verifier dereferences it there.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.certificates import dataintegrity, keys
from app.core import clock
from app.core.config import Settings

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
UNDEFINED_TERMS_CONTEXT = dataintegrity.UNDEFINED_TERMS_CONTEXT  # e.g. VerificationStatusEndpoint
CONTEXTS = [VC_CONTEXT, OB_CONTEXT, UNDEFINED_TERMS_CONTEXT]
MEDIA_TYPE = "application/vc+jwt"
JWT_CLAIMS = ("iss", "jti", "nbf", "exp", "sub")  # registered claims beside the credential


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
        result: dict[str, Any] = {"type": ["Result"], "status": "Completed"}
        if fields.get("score") is not None:
            result["value"] = f"{fields['score']:g}"
        if fields.get("predikat"):
            result["achievedLevel"] = fields["predikat"]
        subject["result"] = [result]
    credential: dict[str, Any] = {
        "@context": list(CONTEXTS),
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


def key_id(settings: Settings) -> str:
    """The JWS `kid`: a URL that answers the public JWK (OB 3.0 §8.2 "Dereferencing")."""
    _key, thumbprint = _signing_key(settings)
    return settings.absolute_url(f"/api/v1/verify/keys/{thumbprint}")


def public_jwk(settings: Settings) -> dict[str, str]:
    """The credential public key as published: an OKP JWK whose `kid` is key_id()."""
    return dict(keys.credential_public_jwk(settings), kid=key_id(settings))


def verification_method(settings: Settings) -> str:
    """The Data Integrity verificationMethod: the issuer profile URL + #publicKeyMultibase."""
    key, _thumbprint = _signing_key(settings)
    return str(dataintegrity.multikey(key.public_key(), issuer_id(settings))["id"])


def issuer_profile(settings: Settings) -> dict[str, Any]:
    """The issuer profile named in every credential, also the controller document of its key:
    the Multikey under `verificationMethod`, listed in `assertionMethod`."""
    key, _thumbprint = _signing_key(settings)
    method = dataintegrity.multikey(key.public_key(), issuer_id(settings))
    method.pop("@context")
    return {
        "@context": [
            VC_CONTEXT,
            OB_CONTEXT,
            dataintegrity.MULTIKEY_CONTEXT,
            dataintegrity.CONTROLLER_TERMS,
            UNDEFINED_TERMS_CONTEXT,
        ],
        "id": issuer_id(settings),
        "type": ["Profile"],
        "name": settings.institution_name,
        "url": settings.base_url,
        "publicKey": public_jwk(settings),
        "verificationMethod": [method],
        "assertionMethod": [method["id"]],
    }


def _epoch(value: str) -> int:
    return int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def sign(credential: dict[str, Any], settings: Settings) -> str:
    """VC-JWT: a compact JWS (RFC 7515, alg EdDSA / RFC 8037) whose payload is the credential
    plus the claims OB 3.0 asks for: iss = issuer.id, jti = id, nbf = validFrom, exp =
    validUntil (when set), sub = credentialSubject.id (when set). Header: alg, kid, typ only."""
    key, _thumbprint = _signing_key(settings)
    claims = {k: v for k, v in credential.items() if k not in JWT_CLAIMS}
    claims.update({"iss": credential["issuer"]["id"], "jti": credential["id"]})
    claims["nbf"] = _epoch(credential["validFrom"])
    if credential.get("validUntil"):
        claims["exp"] = _epoch(credential["validUntil"])
    subject = credential.get("credentialSubject")
    if isinstance(subject, dict) and subject.get("id"):
        claims["sub"] = subject["id"]
    header = {"alg": "EdDSA", "kid": key_id(settings), "typ": "JWT"}
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False, default=str).encode())
    )
    return signing_input + "." + _b64(key.sign(signing_input.encode("ascii")))


def decode(token: str, settings: Settings) -> dict[str, Any]:
    """Check a VC-JWT with the institution's public key; returns the claims."""
    public = keys.credential_private_key(settings).public_key()
    claims: dict[str, Any] = jwt.decode(token, public, algorithms=["EdDSA"])
    return claims


def credential_of(token: str) -> dict[str, Any]:
    """The credential a VC-JWT carries (its payload without the JWT claims), unverified: for
    tokens this LMS stored itself."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return {k: v for k, v in claims.items() if k not in JWT_CLAIMS}


def current(token: str, settings: Settings) -> str:
    """The stored VC-JWT in today's form: a token signed before the OB 3.0 header/claims (typ
    "vc+jwt", a bare thumbprint kid, no nbf) is signed again over the same credential when the
    current key verifies it; one signed by an older key is answered as stored."""
    header = jwt.get_unverified_header(token)
    if header.get("typ") == "JWT" and header.get("kid") == key_id(settings):
        return token
    public = keys.credential_private_key(settings).public_key()
    try:
        jwt.decode(token, public, algorithms=["EdDSA"], options={"verify_exp": False})
    except jwt.InvalidTokenError:
        return token
    return sign(credential_of(token), settings)


def with_proof(token: str, settings: Settings) -> dict[str, Any]:
    """The JSON answer: the credential the VC-JWT carries with an embedded DataIntegrityProof
    (eddsa-rdfc-2022) in a `proof` array, made now with the current key."""
    document = credential_of(token)
    context = list(document.get("@context") or [VC_CONTEXT, OB_CONTEXT])
    if UNDEFINED_TERMS_CONTEXT not in context:  # issued before the context was named
        context.append(UNDEFINED_TERMS_CONTEXT)
    document = {"@context": context, **{k: v for k, v in document.items() if k != "@context"}}
    key, _thumbprint = _signing_key(settings)
    return dataintegrity.add_proof(
        document, key, verification_method(settings), created=clock.now_local()
    )


def verify_document(document: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Check the DataIntegrityProof of a JSON credential with the published key; raises
    dataintegrity.ProofError. Returns the proof."""
    expected = verification_method(settings)
    public = keys.credential_private_key(settings).public_key()

    def resolve(method: str) -> Any:
        if method != expected:
            raise dataintegrity.ProofError(f"unknown verificationMethod: {method}")
        return public

    return dataintegrity.verify(document, resolve)
