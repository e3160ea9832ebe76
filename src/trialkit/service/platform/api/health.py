"""``/health``: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from trialkit.service.platform.health import database_reachable

router = APIRouter(tags=["health"])


@router.get("/health", response_model=None)
def health(request: Request) -> dict[str, str] | JSONResponse:
    if database_reachable(database=request.app.state.database):
        return {"status": "ok", "database": "reachable"}
    return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
