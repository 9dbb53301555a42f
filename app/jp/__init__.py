"""The JP ledger: every JP credit a civil servant earns, per year, with its source."""
