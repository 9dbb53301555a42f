"""API routes for the certificates domain (api-v1.md)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["certificates"])
