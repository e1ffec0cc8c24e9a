"""The JSON API's routes, each declared once with its models: aiohttp serves it and the OpenAPI
document describes it from the same declaration.

A view takes the request and the signed-in account and returns a response model; the wrapper
authenticates (a personal bearer token, or the web chat's session cookie with its CSRF token on
changes), parses the body into its model, and turns every failure into JSON with a stable code.

Staff operations (`ApiRoutes(staff=True)`, under /api/v1/staff) take a staff API token (bzs_…)
only, and declare the roles that may call them, as the panel's `@require(...)` does; the view
gets the staff member instead of a web chat account.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from app.db.queries.chat_accounts import ChatAccount
from app.domain import staff_tokens
from app.domain.chat import accounts
from app.domain.chat.conversations import ChatError, ConversationNotFound, RateLimited
from app.domain.staff import Role, Staff
from app.i18n import UserError
from app.web import keys
from app.web.api.models import Error
from app.web.chat.auth import UNSAFE, csrf_ok, current_account, gettext
from app.web.forms import read_json

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
AUTHENTICATED = web.RequestKey("api_account", ChatAccount)
STAFF_AUTHENTICATED = web.RequestKey("api_staff", Staff)
View = Callable[..., Awaitable[BaseModel]]


class ApiError(Exception):
    """A refusal with its status, stable code and message (for people)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@dataclass(frozen=True)
class Param:
    """A query parameter: its name, JSON schema and meaning."""

    name: str
    schema: dict[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    view: Callable[[web.Request], Awaitable[web.StreamResponse]]
    name: str
    summary: str
    response: type[BaseModel]
    status: int = 200
    body: type[BaseModel] | None = None
    query: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()
    roles: tuple[Role, ...] | None = None  # a staff operation: who may call it (admins always)
    error_texts: dict[int, str] = field(default_factory=dict)  # an error's meaning here, if special

    @property
    def staff(self) -> bool:
        return self.roles is not None

    def allows(self, staff: Staff) -> bool:
        return self.roles is not None and staff.has_role(*self.roles)


@dataclass
class ApiRoutes:
    operations: list[Operation] = field(default_factory=list)
    staff: bool = False  # staff operations: a staff token, and `roles` on each

    def op(
        self,
        method: str,
        path: str,
        *,
        name: str,
        summary: str,
        response: type[BaseModel],
        status: int = 200,
        body: type[BaseModel] | None = None,
        query: tuple[Param, ...] = (),
        errors: tuple[int, ...] = (),
        roles: tuple[Role, ...] = (),
        error_texts: dict[int, str] | None = None,
    ) -> Callable[[View], View]:
        """`roles` (staff operations): who may call it besides admins; empty: any staff member.
        `error_texts`: what an error status means for this operation (else the document's usual)."""
        declared = roles if self.staff else None

        def add(view: View) -> View:
            wrapped = _wrap(view, body, status, declared)
            self.operations.append(
                Operation(
                    method,
                    API_PREFIX + path,
                    wrapped,
                    name,
                    summary,
                    response,
                    status,
                    body,
                    query,
                    errors,
                    declared,
                    dict(error_texts or {}),
                )
            )
            return view

        return add

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations)


async def authenticate(request: web.Request) -> ChatAccount:
    """A bearer token (personal API token), else the web chat's session cookie."""
    _ = gettext(request)
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _sep, secret = header.partition(" ")
        account = None
        if scheme.lower() == "bearer":
            async with request.app[keys.POOL].acquire() as conn:
                account = await accounts.token_account(conn, secret.strip())
        if account is None:
            raise ApiError(401, "unauthorized", _("This API token is not valid (revoked, or mistyped)."))
        return account
    account = await current_account(request)
    if account is None:
        raise ApiError(
            401, "unauthorized", _("Sign in, or send a personal API token (Authorization: Bearer …).")
        )
    if request.method in UNSAFE and not await csrf_ok(request):
        raise ApiError(403, "csrf", _("This form has expired. Reload the page and try again."))
    return account


async def authenticate_staff(request: web.Request, roles: tuple[Role, ...]) -> Staff:
    """A staff API token (bzs_…) of an active staff member whose role is one of `roles`."""
    _ = gettext(request)
    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    staff = None
    if scheme.lower() == "bearer" and secret.strip():
        async with request.app[keys.POOL].acquire() as conn:
            staff = await staff_tokens.token_staff(conn, secret.strip())
    if staff is None:
        raise ApiError(
            401,
            "unauthorized",
            _("Send a staff API token from your panel account page (Authorization: Bearer …)."),
        )
    if not staff.has_role(*roles):
        raise ApiError(403, "forbidden", _("Your role does not give access to this page."))
    return staff


def _wrap(
    view: View, body: type[BaseModel] | None, status: int, roles: tuple[Role, ...] | None
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @functools.wraps(view)
    async def handle(request: web.Request) -> web.StreamResponse:
        _ = gettext(request)
        try:
            who: ChatAccount | Staff
            if roles is None:
                who = request[AUTHENTICATED] = await authenticate(request)
            else:
                who = request[STAFF_AUTHENTICATED] = await authenticate_staff(request, roles)
            args: list[Any] = [request, who]
            if body is not None:
                data = await _json_body(request)
                try:
                    args.append(body.model_validate(data))
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(part) for part in first.get("loc", ()))
                    raise ApiError(422, "invalid", f"{where}: {first.get('msg', 'invalid')}") from None
            result = await view(*args)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except ConversationNotFound as exc:
            return error_response(404, "not_found", exc.text(_))
        except RateLimited as exc:
            return error_response(429, "rate_limited", exc.text(_))
        except ChatError as exc:
            return error_response(400, "refused", exc.text(_))
        except UserError as exc:  # a staff operation the domain refused: nothing changed
            return error_response(400, "refused", exc.text(_))
        return web.json_response(result.model_dump(mode="json"), status=status)

    return handle


async def _json_body(request: web.Request) -> Any:
    """The body through `read_json` (valid UTF-8 JSON, not too deep, text without NUL or control
    characters); an empty body is an empty object. Refusals keep the API's JSON shape."""
    if not request.body_exists:
        return {}
    try:
        return await read_json(request)
    except web.HTTPException as exc:
        _ = gettext(request)
        if exc.status == 413:
            raise ApiError(413, "too_large", _(exc.text or "")) from None
        raise ApiError(422, "invalid", _(exc.text or "")) from None  # as a body its model refuses


def path_number(request: web.Request, name: str) -> int:
    """A numeric path part, or 404 not_found (as for a row that does not exist)."""
    value = request.match_info[name]
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        _ = gettext(request)
        raise ApiError(404, "not_found", _("Not found."))
    return int(value)


def query_number(request: web.Request, name: str, default: int | None = None) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise ApiError(422, "invalid", f"{name}: a whole number")
    return int(value)


@web.middleware
async def api_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Under /api/: unknown paths, wrong methods and crashes answer in the same JSON shape."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        return error_response(exc.status, codes.get(exc.status, "invalid"), exc.reason)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(500, "internal", "Something went wrong on our side.")


def error_schema() -> dict[str, Any]:
    return Error.model_json_schema()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
