"""Accounts and organisation: OPDs, ASN users, roles, NIP rules and the roster import."""
