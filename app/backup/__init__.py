"""Backups of a whole installation: the database (pg_dump or SQLite's online backup), a manifest
of every stored object with its sha256, an optional copy of the objects; restore and verify.

Import from `app.backup.service`; the `lms backup` commands are thin wrappers around it.
"""
