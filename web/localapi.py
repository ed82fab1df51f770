"""``POST /api/v1/local/task/{command}``: the JSON API the ``steer`` launcher uses for quick
``steer task <action>`` commands on the machine where ``steer web`` runs (``cli/launch.py``).

The launcher reads the server file (``web/serverfile.py``: loopback address + a random
token, 0600, next to the database) and posts the parsed command line as JSON::

    {"db": "sqlite:////…/steer.db", "lang": "vi", "item": "KH-57-LS/3",
     "options": {"as": "bptth_focal", "note": "Đang triển khai", "percent": "40"}}

The action is performed exactly as ``steer task`` performs it in-process
(``engine.commands.act_on_reference``: the acting person, the item reference, the one action
path), and the answer is what the CLI would print::

    {"exit": 0, "out": "Đã ghi nhận tiến độ phần việc KH-57-LS/3 (phiên bản 4).\\n", "err": ""}

A user mistake is ``exit`` 1 with the CLI's one-line error on ``err``. Only loopback
clients holding the token, only for the database this server serves (409 otherwise, and
the launcher then runs the command itself); not in the OpenAPI schema (it is for the
launcher, not for integrations — those use the item endpoints with an API token).
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from engine.commands import act_on_reference, cli_command_raw
from engine.db import normalize_url
from engine.errors import UserError
from engine.i18n import norm_lang, tr
from web.core import db, now

LOOPBACK = ("127.0.0.1", "::1", "localhost", "testclient")
log = logging.getLogger("steer.web.local")


class LocalTask(BaseModel):
    db: str = Field(max_length=4096)
    lang: str = Field("vi", max_length=16)
    item: str = Field(max_length=400)
    options: dict[str, str] = Field(default_factory=dict)


def make_router(database_url: str, token: str) -> APIRouter:
    router = APIRouter()
    served = normalize_url(database_url)

    @router.post("/api/v1/local/task/{command}", include_in_schema=False)
    async def local_task(request: Request, command: str) -> JSONResponse:
        host = request.client.host if request.client else ""
        if host not in LOOPBACK:
            return JSONResponse({"error": "loopback only"}, status_code=403)
        auth = request.headers.get("authorization", "")
        if not (auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].encode(), token.encode())):
            return JSONResponse({"error": "bad token"}, status_code=401)
        try:
            body = LocalTask.model_validate_json(await request.body())
        except ValidationError:
            return JSONResponse({"error": "bad request"}, status_code=400)
        parsed = cli_command_raw(command, body.options)
        if parsed is None:
            return JSONResponse({"error": "command not served"}, status_code=404)
        if normalize_url(body.db) != served:
            return JSONResponse({"error": "another database"}, status_code=409)
        action, fields = parsed
        lang = norm_lang(body.lang)
        person = body.options.get("as", "")
        moment = now(request)

        def run() -> dict[str, Any]:
            try:
                with db(request).tx() as s:
                    outcome = act_on_reference(s, person, body.item, action, fields, now=moment, lang=lang)
                    message = outcome.message(lang)
            except UserError as exc:
                return {"exit": 1, "out": "", "err": f"{tr(lang, 'common.error')}: {exc}\n"}
            return {"exit": 0, "out": message + "\n", "err": ""}

        try:
            answer = await db(request).run_write(run)
        except Exception as exc:  # a bug or the database down: the launcher reports it, exit 1
            log.exception("steer task %s failed", command)
            answer = {"exit": 1, "out": "", "err": f"{tr(lang, 'common.internal_error')}: {type(exc).__name__}\n"}
        return JSONResponse(answer)

    return router
