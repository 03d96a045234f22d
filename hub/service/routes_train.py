"""Placeholder router; filled in by the train work (issue 15)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["publishing"])
