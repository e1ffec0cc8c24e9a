"""The OpenAPI 3.1 document, generated from the declared operations and their pydantic models,
and the docs page (Redoc, vendored under static/vendor: no CDN)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.web.api.models import Error
from app.web.api.registry import API_PREFIX, Operation

ERROR_TEXTS = {
    401: "Not signed in, or the token is not valid (code unauthorized)",
    400: "The domain refused it; nothing changed (code refused)",
    403: "A cookie session without its CSRF token (code csrf), or a role without access (code forbidden)",
    404: "No such conversation, or not yours (code not_found)",
    409: "Someone else decided first (code conflict)",
    422: "The body or a parameter is not valid (code invalid)",
    429: "Too many messages (code rate_limited)",
}


def document(operations: list[Operation]) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = [(Error, "serialization")]
    for op in operations:
        models.append((op.response, "serialization"))
        if op.body is not None:
            models.append((op.body, "validation"))
    refs, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        item: dict[str, Any] = {
            "operationId": op.name.removeprefix("api."),
            "summary": op.summary,
            "tags": ["staff" if op.staff else "web chat"],
            "responses": {
                str(op.status): {
                    "description": "OK",
                    "content": {"application/json": {"schema": refs[(op.response, "serialization")]}},
                }
            },
        }
        for status in op.errors:
            item["responses"][str(status)] = {
                "description": op.error_texts.get(status, ERROR_TEXTS[status]),
                "content": {"application/json": {"schema": refs[(Error, "serialization")]}},
            }
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
            for name in _path_names(op.path)
        ]
        parameters += [
            {
                "name": p.name,
                "in": "query",
                "required": p.required,
                "description": p.description,
                "schema": p.schema,
            }
            for p in op.query
        ]
        if parameters:
            item["parameters"] = parameters
        if op.body is not None:
            item["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        if op.staff:
            roles = ", ".join(["admin", *(r.value for r in op.roles or ())])
            item["description"] = f"Roles: {roles if op.roles else 'any staff member'}."
            item["security"] = [{"staffToken": []}]
        paths.setdefault(op.path, {})[op.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Bozor API",
            "version": "1.0.0",
            "description": (
                "The web chat's operations. Authenticate with a personal API token from the account "
                "page (Authorization: Bearer bzr_…), or the web chat's session cookie (then send "
                'X-CSRF-Token on changes). Errors are JSON: {"error": {"code", "message"}}. '
                "Live events: a WebSocket at /chat/ws?after=<last message id> (the same bearer token; "
                "once it is revoked, the socket is closed with code 4401). It first "
                "sends the messages missed since that id, then ready; a reload frame (at any time) means "
                "more was missed than a socket replays: load the conversations' messages here. "
                "The staff operations (/api/v1/staff/…) take a staff API token from the panel's account "
                "page (Authorization: Bearer bzs_…) and act with that staff member's role, as the panel."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer", "description": "A personal API token (bzr_…)."},
                "session": {"type": "apiKey", "in": "cookie", "name": "bozor_chat"},
                "staffToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A staff API token (bzs_…) from the panel's account page.",
                },
            },
        },
        "security": [{"token": []}, {"session": []}],
    }


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Bozor API</title></head>
<body><redoc spec-url="{prefix}/openapi.json"></redoc>
<script src="/static/vendor/redoc.standalone.js"></script></body></html>
"""


def openapi_routes(operations: list[Operation]) -> list[web.RouteDef]:
    spec = document(operations)

    async def openapi_json(request: web.Request) -> web.Response:
        return web.json_response(spec)

    async def docs(request: web.Request) -> web.Response:
        return web.Response(text=DOCS_PAGE.replace("{prefix}", API_PREFIX), content_type="text/html")

    return [
        web.get(API_PREFIX + "/openapi.json", openapi_json, name="api.openapi"),
        web.get(API_PREFIX + "/docs", docs, name="api.docs"),
    ]
