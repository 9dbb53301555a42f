"""The certificate as an Open Badges 3.0 / W3C VC, signed as a VC-JWT (EdDSA): the JWS verifies
with the institution's public key (JWKS) and carries JP as creditsAvailable/creditsEarned."""

from __future__ import annotations

import base64

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.certificates import credential
from tests.factories import api_token, make_completed_run, make_user


def _public_key(jwk: dict[str, str]) -> Ed25519PublicKey:
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


async def test_credential_json_and_vc_jwt_verify(client, settings) -> None:  # type: ignore[no-untyped-def]
    data = make_completed_run(1, auto_issue=False, jp=18)
    officer = await api_token(client, make_user(roles=("training_officer",)).email)
    issued = (await client.post(f"/api/v1/runs/{data['run']}/certificates", headers=officer)).json()
    cid = issued["issued"][0]["id"]
    record = (await client.get(f"/api/v1/certificates/{cid}", headers=officer)).json()

    document = (await client.get(f"/api/v1/certificates/{cid}/credential", headers=officer)).json()
    assert document["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert document["@context"][1] == credential.OB_CONTEXT
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    subject = document["credentialSubject"]
    assert subject["achievement"]["creditsAvailable"] == 18 and subject["creditsEarned"] == 18
    assert subject["name"] == record["holder_name"]
    assert document["issuer"]["id"].endswith("/api/v1/verify/issuer")
    assert document["id"] == record["verify_url"]

    compact = await client.get(f"/api/v1/certificates/{cid}/credential",
                               headers=officer | {"Accept": "application/vc+jwt"})  # fmt: skip
    assert compact.headers["content-type"].startswith("application/vc+jwt")
    token = compact.text
    assert document["proof"][0]["type"] == "DataIntegrityProof"  # tests/certificates/test_ob3_*
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["typ"] == "JWT"
    jwks = (await client.get("/api/v1/verify/keys")).json()["keys"]
    assert header["kid"] == jwks[0]["kid"]
    claims = jwt.decode(token, _public_key(jwks[0]), algorithms=["EdDSA"])
    assert claims["credentialSubject"]["creditsEarned"] == 18
    assert claims["iss"] == document["issuer"]["id"]

    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    try:
        jwt.decode(tampered, _public_key(jwks[0]), algorithms=["EdDSA"])
        raise AssertionError("a tampered JWS must not verify")
    except jwt.InvalidSignatureError:
        pass
    assert credential.decode(token, settings)["id"] == document["id"]
