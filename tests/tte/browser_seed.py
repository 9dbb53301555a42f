"""Data for the BSrE browser test, written into a server's own database (run with its
environment, cwd its data folder): a completed run of 3 learners with issued, locally signed
certificate PDFs, a training officer and a signing official. Prints one JSON line."""

from __future__ import annotations

import json

from app.accounts.constants import Role
from app.certificates import service as certificates
from app.core.config import get_settings
from app.core.db import session_scope
from tests.certificates.pdfs import make_pdfs
from tests.factories import make_completed_run, make_user

OFFICIAL_EMAIL = "pejabat.tte@demo.lms.go.id"
OFFICER_EMAIL = "petugas.tte@demo.lms.go.id"


def main() -> None:
    data = make_completed_run(3, auto_issue=False, code="TTE-UJI")
    officer = make_user(roles=(Role.TRAINING_OFFICER,), email=OFFICER_EMAIL, name="Petugas TTE")
    make_user(roles=(Role.SIGNING_OFFICIAL,), email=OFFICIAL_EMAIL, name="Dr. Hendra Wijaya")
    with session_scope() as session:
        result = certificates.issue(session, int(data["run"]), None, officer.id, get_settings())  # type: ignore[call-overload]
    make_pdfs()
    print(json.dumps({"run": data["run"], "issued": len(result.issued)}))


if __name__ == "__main__":
    main()
