"""HTML pages for the certificates domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
