"""The root address: it sends a visitor to the home page (its work lists are in oversight)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

router = APIRouter()


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/home", status_code=303)
