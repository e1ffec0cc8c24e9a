"""The JSON API (/api/v1) with its OpenAPI 3.1 document, generated from the operations' models."""

from __future__ import annotations

from aiohttp import web

from app.web.api import staff, v1
from app.web.api.openapi import openapi_routes
from app.web.api.registry import Operation, api_errors


def operations() -> list[Operation]:
    return [*v1.ROUTES, *staff.ROUTES]


def setup_api(app: web.Application) -> None:
    app.middlewares.append(api_errors)
    ops = operations()
    for op in ops:
        app.router.add_route(op.method, op.path, op.view, name=op.name)
    app.add_routes(openapi_routes(ops))
