"""Static assets served outside ``/static``: ``/favicon.ico`` (browsers ask for it at the root)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from web.core import HERE

router = APIRouter(include_in_schema=False)
ICON_CACHE = "public, max-age=86400"


@router.get("/favicon.ico")
def favicon() -> Response:
    return FileResponse(HERE / "static" / "favicon.ico", media_type="image/x-icon", headers={"Cache-Control": ICON_CACHE})
