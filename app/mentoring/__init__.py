"""Induction (sistem induksi): mentoring assignments, logged sessions, sign-off, verification, JP."""
