"""W3C Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite (W3C VC-DI-EdDSA 1.0, §3.3),
the embedded proof Open Badges 3.0 accepts besides the VC-JWT.

Create: canonicalize the credential without its proof and the proof options (the proof without
`proofValue`, with the credential's `@context`) with RDF Dataset Canonicalization (RDFC-1.0 =
URDNA2015, pyld's `normalize`), hash each with SHA-256, sign `sha256(proof options) ||
sha256(document)` with Ed25519, and put the signature in `proofValue` as multibase base58btc.
Verify: the same with the public key of the proof's `verificationMethod`.

JSON-LD contexts are never fetched: the ones our credentials and keys name are vendored in
`contexts/` (see contexts/SOURCES.md) and the document loader serves only those; any other URL is
an error, so a credential naming an unknown context cannot be signed or verified here.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld import jsonld  # type: ignore[import-untyped]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v2"
# maps terms no other context defines to https://www.w3.org/ns/credentials/undefined-term#
UNDEFINED_TERMS_CONTEXT = "https://www.w3.org/ns/credentials/undefined-terms/v2"

# The two controller-document terms (W3C Controlled Identifiers 1.0) an issuer profile needs to
# list its key, inline: no vendored context defines them at the top level.
CONTROLLER_TERMS: dict[str, Any] = {
    "verificationMethod": {"@id": "https://w3id.org/security#verificationMethod", "@type": "@id"},
    "assertionMethod": {
        "@id": "https://w3id.org/security#assertionMethod",
        "@type": "@id",
        "@container": "@set",
    },
}

CONTEXTS_DIR = Path(__file__).parent / "contexts"
# URL -> vendored file. Nothing else is ever loaded.
CONTEXT_FILES: dict[str, str] = {
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    UNDEFINED_TERMS_CONTEXT: "undefined-terms-v2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-context-3.0.3.json",
    DATA_INTEGRITY_CONTEXT: "data-integrity-v2.jsonld",
    MULTIKEY_CONTEXT: "multikey-v1.jsonld",
}

# multicodec "ed25519-pub" (0xed) as an unsigned varint, before the 32 key bytes of a Multikey
_ED25519_PUB_PREFIX = b"\xed\x01"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class ProofError(ValueError):
    """The credential has no valid eddsa-rdfc-2022 proof (message says why)."""


# --- multibase / Multikey --------------------------------------------------------------------


def b58encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet), leading zero bytes as '1'."""
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        index = _B58.find(char)
        if index < 0:
            raise ProofError(f"not base58btc: {char!r}")
        number = number * 58 + index
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def public_key_multibase(key: Ed25519PublicKey) -> str:
    """The Multikey `publicKeyMultibase` of an Ed25519 key ("z6Mk...")."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + b58encode(_ED25519_PUB_PREFIX + raw)


def public_key_from_multibase(value: str) -> Ed25519PublicKey:
    if not value.startswith("z"):
        raise ProofError("publicKeyMultibase must be base58btc ('z...')")
    data = b58decode(value[1:])
    if len(data) != 34 or not data.startswith(_ED25519_PUB_PREFIX):
        raise ProofError("publicKeyMultibase is not an Ed25519 Multikey")
    return Ed25519PublicKey.from_public_bytes(data[2:])


def multikey(key: Ed25519PublicKey, controller: str) -> dict[str, Any]:
    """The Multikey verification method `controller#publicKeyMultibase` (VC-DI-EdDSA §2.1.1)."""
    encoded = public_key_multibase(key)
    return {
        "@context": MULTIKEY_CONTEXT,
        "id": f"{controller}#{encoded}",
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": encoded,
    }


# --- canonicalization -----------------------------------------------------------------------


@lru_cache(maxsize=16)
def _vendored(name: str) -> str:
    return (CONTEXTS_DIR / name).read_text(encoding="utf-8")


def document_loader(
    extra: Mapping[str, Any] | None = None,
) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """A pyld document loader serving only the vendored contexts (plus `extra`: URL -> parsed
    JSON, for tests); every other URL raises, so nothing is fetched at run time."""

    def load(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        if extra is not None and url in extra:
            document: Any = copy.deepcopy(extra[url])
        elif url in CONTEXT_FILES:
            document = json.loads(_vendored(CONTEXT_FILES[url]))
        else:
            raise jsonld.JsonLdError(
                f"JSON-LD context not vendored: {url}",
                "jsonld.LoadDocumentError",
                {"url": url},
                code="loading remote context failed",
            )
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": document,
        }

    return load


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _count_properties(value: Any, *, expanded: bool) -> int:
    """Properties with a value, in every object of a JSON(-LD) tree: in the compact document
    every key but keywords and the `id`/`type` aliases, in the expanded one every IRI key."""
    if isinstance(value, list):
        return sum(_count_properties(item, expanded=expanded) for item in value)
    if not isinstance(value, dict):
        return 0
    total = 0
    for key, item in value.items():
        if key == "@context" or key.startswith("@"):
            total += 0 if key == "@context" else _count_properties(item, expanded=expanded)
            continue
        if not expanded and (key in ("id", "type") or item is None):
            continue
        total += (1 if expanded or item is not None else 0) + _count_properties(
            item, expanded=expanded
        )
    return total


def _types(value: Any) -> list[str]:
    if isinstance(value, list):
        return [t for item in value for t in _types(item)]
    if not isinstance(value, dict):
        return []
    found = [str(t) for t in value.get("@type", []) if isinstance(value.get("@type"), list)]
    if isinstance(value.get("@type"), str) and "@value" not in value:
        found.append(value["@type"])
    return found + [t for key, item in value.items() if key != "@type" for t in _types(item)]


def check_terms(document: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> None:
    """Safe mode: every property and type of the document must map to an absolute IRI. JSON-LD
    silently drops an undefined term, which would leave that field outside the signature (a
    verifier would accept it changed), so such a document is refused instead."""
    try:
        expanded = jsonld.expand(dict(document), {"documentLoader": document_loader(extra)})
    except jsonld.JsonLdError as exc:
        raise ProofError(f"JSON-LD processing failed: {exc}") from exc
    if _count_properties(expanded, expanded=True) != _count_properties(document, expanded=False):
        raise ProofError("the document has properties no JSON-LD context defines")
    base = str(jsonld.DEFAULT_BASE_IRI)  # where pyld resolves a relative IRI to
    relative = [t for t in _types(expanded) if not _SCHEME.match(t) or t.startswith(base)]
    if relative:
        raise ProofError(f"types no JSON-LD context defines: {', '.join(sorted(relative))}")


def canonicalize(document: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> str:
    """RDFC-1.0 (URDNA2015) canonical N-Quads of a JSON-LD document."""
    try:
        result = jsonld.normalize(
            dict(document),
            {
                "algorithm": "URDNA2015",
                "format": "application/n-quads",
                "documentLoader": document_loader(extra),
            },
        )
    except jsonld.JsonLdError as exc:
        raise ProofError(f"JSON-LD processing failed: {exc}") from exc
    return str(result)


def _hash_data(
    unsecured: Mapping[str, Any], options: Mapping[str, Any], extra: Mapping[str, Any] | None
) -> bytes:
    proof_hash = hashlib.sha256(canonicalize(options, extra).encode("utf-8")).digest()
    document_hash = hashlib.sha256(canonicalize(unsecured, extra).encode("utf-8")).digest()
    return proof_hash + document_hash


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- create / verify ------------------------------------------------------------------------


def add_proof(
    document: Mapping[str, Any],
    key: Ed25519PrivateKey,
    verification_method: str,
    *,
    created: dt.datetime | None = None,
    extra_contexts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The document with an eddsa-rdfc-2022 DataIntegrityProof (assertionMethod) appended to
    its `proof` array (an existing `proof` is not signed over: each proof covers the document
    without proofs, a proof set)."""
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    check_terms(unsecured, extra_contexts)
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    if created is not None:
        proof["created"] = _iso(created)
    options = dict(proof, **{"@context": unsecured["@context"]})
    signature = key.sign(_hash_data(unsecured, options, extra_contexts))
    proof["proofValue"] = "z" + b58encode(signature)
    existing = document.get("proof")
    proofs = (
        [] if existing is None else list(existing if isinstance(existing, list) else [existing])
    )
    return dict(unsecured, proof=[*proofs, proof])


def verify(
    document: Mapping[str, Any],
    resolve: Callable[[str], Ed25519PublicKey],
    *,
    extra_contexts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Check every eddsa-rdfc-2022 proof of the document (at least one must be there); `resolve`
    maps a verificationMethod to its public key (raising ProofError when it is not trusted).
    Returns the last proof checked; raises ProofError on the first bad one."""
    raw = document.get("proof")
    proofs = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    ours = [
        p for p in proofs if p.get("type") == PROOF_TYPE and p.get("cryptosuite") == CRYPTOSUITE
    ]
    if not ours:
        raise ProofError("no DataIntegrityProof with cryptosuite eddsa-rdfc-2022")
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    check_terms(unsecured, extra_contexts)
    for proof in ours:
        if proof.get("proofPurpose") != "assertionMethod":
            raise ProofError("proofPurpose must be assertionMethod")
        value = proof.get("proofValue")
        if not isinstance(value, str) or not value.startswith("z"):
            raise ProofError("proofValue must be multibase base58btc")
        signature = b58decode(value[1:])
        if len(signature) != 64:
            raise ProofError("proofValue is not an Ed25519 signature")
        options = {k: v for k, v in proof.items() if k != "proofValue"}
        options["@context"] = unsecured["@context"]
        key = resolve(str(proof.get("verificationMethod", "")))
        try:
            key.verify(signature, _hash_data(unsecured, options, extra_contexts))
        except InvalidSignature as exc:
            raise ProofError("signature does not match the credential") from exc
    return dict(ours[-1])
