"""Cost of the two Open Badges 3.0 forms of a certificate credential, per credential: the VC-JWT
(signed at issuance) and the JSON credential with its eddsa-rdfc-2022 DataIntegrityProof (made at
each download: two RDFC-1.0 canonicalizations + one Ed25519 signature), and verifying the latter.

    .venv/bin/python bench/ob3_credential.py [N]
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time

from app.certificates import credential, keys
from app.core.config import Settings


def main(count: int = 200) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(keys_dir=folder, base_url="https://lms.example.go.id")
        keys.forget_keys()
        fields = {
            "code": "K7QX2M4P", "number": "001/LATSAR/2026", "holder_name": "Siti Rahmawati",
            "holder_nip": "199001012020122001", "course_id": 3, "course_title": "Latsar CPNS",
            "run_name": "Angkatan I", "jp": 18, "course_code": "LAT-01",
            "run_starts_on": dt.date(2026, 1, 5), "run_ends_on": dt.date(2026, 1, 30),
            "score": 87.5, "predikat": "Sangat Memuaskan", "issuer": None, "valid_until": None,
            "issued_at": dt.datetime(2026, 2, 1, 3, 0, tzinfo=dt.UTC),
        }  # fmt: skip
        token = credential.sign(credential.build(fields, settings), settings)
        credential.verify_document(credential.with_proof(token, settings), settings)  # warm up
        figures = {}
        start = time.perf_counter()
        for _ in range(count):
            credential.sign(credential.build(fields, settings), settings)
        figures["VC-JWT build+sign"] = time.perf_counter() - start
        start = time.perf_counter()
        documents = [credential.with_proof(token, settings) for _ in range(count)]
        figures["JSON + DataIntegrityProof"] = time.perf_counter() - start
        start = time.perf_counter()
        for document in documents:
            credential.verify_document(document, settings)
        figures["verify DataIntegrityProof"] = time.perf_counter() - start
        keys.forget_keys()
    for name, seconds in figures.items():
        print(f"{name:28s} {seconds / count * 1000:8.2f} ms/credential ({count} runs)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
