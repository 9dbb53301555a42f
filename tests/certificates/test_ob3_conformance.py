"""Open Badges 3.0 conformance of the downloadable credential (issue 17 part 4).

Both forms validate against 1EdTech's OB 3.0 JSON Schemas, vendored in tests/data/third_party/ob3/
(see SOURCES.md there): the formal AchievementCredential schema the spec builds (`proof` must be
an array) and the JSON-LD adaptation published at the schema's purl. The embedded
DataIntegrityProof (eddsa-rdfc-2022) is checked with nothing but what the LMS publishes (the
issuer profile holding the Multikey), and the eddsa-rdfc-2022 code against W3C's test vector.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jsonschema import Draft201909Validator

from app.certificates import credential, dataintegrity
from tests.factories import api_token, make_completed_run, make_user

DATA = Path(__file__).resolve().parents[1] / "data" / "third_party" / "ob3"
W3C = DATA / "w3c-vc-di-eddsa"
# the one context the W3C vector names besides credentials/v2 (a bare @vocab, see SOURCES.md)
W3C_EXAMPLES = {
    "https://www.w3.org/ns/credentials/examples/v2": json.loads(
        (W3C / "credentials-examples-v2.jsonld").read_text()
    )
}
CREDENTIAL_SCHEMAS = [
    "spec/achievementcredential.json",
    "purl/ob_v3p0_achievementcredential_schema.json",
]
PROFILE_SCHEMAS = ["spec/profile.json", "purl/ob_v3p0_profile_schema.json"]


def _validator(name: str) -> Draft201909Validator:
    schema = json.loads((DATA / name).read_text())
    return Draft201909Validator(schema, format_checker=Draft201909Validator.FORMAT_CHECKER)


def _errors(name: str, document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}"
        for e in _validator(name).iter_errors(document)
    ]


def _jwk_key(jwk: dict[str, str]) -> Ed25519PublicKey:
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


def _fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "code": "K7QX2M4P", "number": "001/LATSAR/2026", "holder_name": "Siti Rahmawati",
        "holder_nip": "199001012020122001", "course_id": 3, "course_title": "Latsar CPNS",
        "run_name": "Angkatan I", "jp": 18, "course_code": "LAT-01",
        "run_starts_on": dt.date(2026, 1, 5), "run_ends_on": dt.date(2026, 1, 30),
        "score": 87.5, "predikat": "Sangat Memuaskan", "issuer": None, "valid_until": None,
        "issued_at": dt.datetime(2026, 2, 1, 3, 0, tzinfo=dt.UTC),
    }  # fmt: skip
    fields.update(changes)
    return fields


async def _issued(client: Any) -> tuple[int, dict[str, str]]:
    data = make_completed_run(1, auto_issue=False, jp=18)
    officer = await api_token(client, make_user(roles=("training_officer",)).email)
    issued = (await client.post(f"/api/v1/runs/{data['run']}/certificates", headers=officer)).json()
    return int(issued["issued"][0]["id"]), officer


async def _resolver(client: Any) -> Any:
    """Dereference a verificationMethod the way a verifier does: GET the URL before '#', find the
    Multikey with that id, check the document lists it for assertionMethod."""

    async def fetch(method: str) -> Ed25519PublicKey:
        url, _, _fragment = method.partition("#")
        controller = (await client.get(url)).json()
        found = [m for m in controller["verificationMethod"] if m["id"] == method]
        assert found and found[0]["type"] == "Multikey" and found[0]["controller"] == url
        assert method in controller["assertionMethod"]
        return dataintegrity.public_key_from_multibase(found[0]["publicKeyMultibase"])

    return fetch


# --- the eddsa-rdfc-2022 implementation against W3C's test vector ------------------------------


def test_w3c_eddsa_rdfc_2022_vector() -> None:
    signed = json.loads((W3C / "signedDataInt.json").read_text())
    pair = json.loads((W3C / "keyPair.json").read_text())
    unsecured = {k: v for k, v in signed.items() if k != "proof"}
    options = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    options["@context"] = signed["@context"]
    # RDFC-1.0 output byte for byte as W3C publishes it
    assert (
        dataintegrity.canonicalize(unsecured, W3C_EXAMPLES)
        == (W3C / "canonDocDataInt.txt").read_text()
    )
    assert (
        dataintegrity.canonicalize(options, W3C_EXAMPLES)
        == (W3C / "proofCanonDataInt.txt").read_text()
    )
    public = dataintegrity.public_key_from_multibase(pair["publicKeyMultibase"])
    dataintegrity.verify(signed, lambda _method: public, extra_contexts=W3C_EXAMPLES)
    # Ed25519 is deterministic: signing with W3C's key gives W3C's proofValue
    secret = dataintegrity.b58decode(pair["privateKeyMultibase"][1:])
    assert secret[:2] == b"\x80\x26"  # multicodec ed25519-priv
    key = Ed25519PrivateKey.from_private_bytes(secret[2:])
    assert dataintegrity.public_key_multibase(key.public_key()) == pair["publicKeyMultibase"]
    again = dataintegrity.add_proof(
        unsecured, key, signed["proof"]["verificationMethod"],
        created=dt.datetime(2023, 2, 24, 23, 36, 38, tzinfo=dt.UTC), extra_contexts=W3C_EXAMPLES,
    )  # fmt: skip
    assert again["proof"][0]["proofValue"] == signed["proof"]["proofValue"]
    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["alumniOf"] = "Another School"
    with pytest.raises(dataintegrity.ProofError, match="signature"):
        dataintegrity.verify(tampered, lambda _method: public, extra_contexts=W3C_EXAMPLES)


def test_no_context_is_fetched_and_undefined_terms_are_refused() -> None:
    key = Ed25519PrivateKey.generate()
    remote = {"@context": ["https://www.w3.org/ns/credentials/v2", "https://example.com/ctx.json"],
              "type": ["VerifiableCredential"], "issuer": "https://x.example/i"}  # fmt: skip
    with pytest.raises(dataintegrity.ProofError, match=r"example\.com/ctx\.json"):
        dataintegrity.add_proof(remote, key, "https://x.example/i#k")
    # without the undefined-terms context an unknown property would be left out of the
    # signature by JSON-LD: refused rather than signed
    loose = {"@context": [credential.VC_CONTEXT, credential.OB_CONTEXT],
             "type": ["VerifiableCredential"], "issuer": "https://x.example/i", "catatan": "x"}  # fmt: skip
    with pytest.raises(dataintegrity.ProofError, match="no JSON-LD context defines"):
        dataintegrity.add_proof(loose, key, "https://x.example/i#k")
    signed = dataintegrity.add_proof(
        dict(loose, **{"@context": credential.CONTEXTS}), key, "https://x.example/i#k"
    )
    signed["catatan"] = "y"  # an undefined-term field is covered too
    with pytest.raises(dataintegrity.ProofError, match="signature"):
        dataintegrity.verify(signed, lambda _method: key.public_key())


# --- the credential this LMS issues ----------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"holder_nip": None, "score": None},
        {"predikat": None, "valid_until": dt.date(2029, 1, 31)},
    ],
)
def test_both_forms_validate_for_every_kind_of_certificate(settings, changes) -> None:  # type: ignore[no-untyped-def]
    token = credential.sign(credential.build(_fields(**changes), settings), settings)
    document = credential.with_proof(token, settings)
    claims = credential.decode(token, settings)
    for schema in CREDENTIAL_SCHEMAS:
        assert _errors(schema, document) == [], schema
        assert _errors(schema, claims) == [], schema
    credential.verify_document(document, settings)
    assert claims["nbf"] == int(dt.datetime(2026, 2, 1, 3, 0, tzinfo=dt.UTC).timestamp())
    if changes.get("valid_until"):
        assert claims["exp"] == int(
            dt.datetime.fromisoformat(document["validUntil"].replace("Z", "+00:00")).timestamp()
        )


def test_the_old_single_jwt_proof_is_what_the_schema_refuses(settings) -> None:  # type: ignore[no-untyped-def]
    token = credential.sign(credential.build(_fields(), settings), settings)
    old = dict(credential.credential_of(token), proof={"type": "JwtProof2020", "jwt": token})
    assert any("proof" in e and "array" in e for e in _errors(CREDENTIAL_SCHEMAS[0], old))


async def test_json_credential_proof_verifies_with_the_published_key(client, settings) -> None:  # type: ignore[no-untyped-def]
    cid, officer = await _issued(client)
    answer = await client.get(f"/api/v1/certificates/{cid}/credential", headers=officer)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "application/json"
    )
    document = answer.json()
    for schema in CREDENTIAL_SCHEMAS:
        assert _errors(schema, document) == [], schema
    assert isinstance(document["proof"], list) and len(document["proof"]) == 1
    proof = document["proof"][0]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["verificationMethod"].startswith(document["issuer"]["id"] + "#z6Mk")

    fetch = await _resolver(client)
    public = await fetch(proof["verificationMethod"])
    dataintegrity.verify(document, lambda _method: public)

    for path, value in [
        (("credentialSubject", "creditsEarned"), 40.0),
        (("credentialSubject", "name"), "Orang Lain"),
        (("validFrom",), "2020-01-01T00:00:00Z"),
        (("credentialStatus", "type"), "Lain"),
    ]:
        tampered = copy.deepcopy(document)
        target = tampered
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        with pytest.raises(dataintegrity.ProofError, match="signature"):
            dataintegrity.verify(tampered, lambda _method: public)
    added = copy.deepcopy(document)
    added["credentialSubject"]["achievement"]["creditsAvailable"] = 99.0
    with pytest.raises(dataintegrity.ProofError):
        credential.verify_document(added, settings)


async def test_vc_jwt_validates_and_verifies_with_its_kid(client, settings) -> None:  # type: ignore[no-untyped-def]
    cid, officer = await _issued(client)
    compact = await client.get(f"/api/v1/certificates/{cid}/credential",
                               headers=officer | {"Accept": "application/vc+jwt"})  # fmt: skip
    assert compact.headers["content-type"].startswith("application/vc+jwt")
    token = compact.text
    assert token.count(".") == 2 and "proof" not in credential.credential_of(token)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "kid": header["kid"], "typ": "JWT"}  # no other header
    jwk = (await client.get(header["kid"])).json()  # the kid URL dereferences to the JWK
    assert jwk["kid"] == header["kid"] and "d" not in jwk
    assert (await client.get("/api/v1/verify/keys")).json()["keys"] == [jwk]
    claims = jwt.decode(token, _jwk_key(jwk), algorithms=["EdDSA"])
    for schema in CREDENTIAL_SCHEMAS:
        assert _errors(schema, claims) == [], schema
    assert claims["iss"] == claims["issuer"]["id"] and claims["jti"] == claims["id"]
    valid_from = dt.datetime.fromisoformat(claims["validFrom"].replace("Z", "+00:00"))
    assert claims["nbf"] == int(valid_from.timestamp())
    body = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    body["credentialSubject"]["creditsEarned"] = 40.0
    forged = ".".join([token.split(".")[0],
                       base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode(),
                       token.split(".")[2]])  # fmt: skip
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, _jwk_key(jwk), algorithms=["EdDSA"])
    assert (await client.get("/api/v1/verify/keys/another")).status_code == 404
    as_file = await client.get(f"/api/v1/certificates/{cid}/credential?format=jwt", headers=officer)
    assert as_file.text == token and as_file.headers["content-disposition"].endswith('.jwt"')


async def test_issuer_profile_is_a_valid_profile_and_controller_document(client) -> None:  # type: ignore[no-untyped-def]
    profile = (await client.get("/api/v1/verify/issuer")).json()
    for schema in PROFILE_SCHEMAS:
        assert _errors(schema, profile) == [], schema
    dataintegrity.check_terms(profile)  # verificationMethod/assertionMethod map to sec: terms
    method = profile["verificationMethod"][0]
    assert method["controller"] == profile["id"] and profile["assertionMethod"] == [method["id"]]
    jwk = profile["publicKey"]
    assert dataintegrity.public_key_from_multibase(
        method["publicKeyMultibase"]
    ).public_bytes_raw() == (_jwk_key(jwk).public_bytes_raw())


def test_a_token_issued_in_the_old_form_is_served_in_the_new_one(settings) -> None:  # type: ignore[no-untyped-def]
    from app.certificates import keys

    document = credential.build(_fields(), settings)
    claims = dict(document, iss=document["issuer"]["id"], jti=document["id"])
    key = keys.credential_private_key(settings)
    old = jwt.encode(claims, key, algorithm="EdDSA",
                     headers={"kid": keys.credential_public_jwk(settings)["kid"], "typ": "vc+jwt", "cty": "vc"})  # fmt: skip
    new = credential.current(old, settings)
    assert jwt.get_unverified_header(new) == {
        "alg": "EdDSA",
        "kid": credential.key_id(settings),
        "typ": "JWT",
    }
    assert credential.credential_of(new) == credential.credential_of(old)
    assert credential.current(new, settings) == new
    other = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA")
    assert credential.current(other, settings) == other  # another key: served as stored
