"""Panel routes: each screen module declares its own table (`ROUTES = PanelRoutes()`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from app.web.panel.auth.access import Access, View, access_of
from app.web.panel.auth.pages import PANEL_PREFIX


@dataclass(frozen=True)
class PanelRoute:
    method: str
    path: str
    handler: View
    name: str
    example: str  # a concrete URL of this route, for tests that walk every route
    ok_status: int  # what an allowed request (without a body) answers

    @property
    def access(self) -> Access:
        access = access_of(self.handler)
        assert access is not None  # PanelRoutes.route refuses a view without one
        return access


@dataclass
class PanelRoutes:
    """One screen's routes with their declared access; views add themselves with get()/post()."""

    routes: list[PanelRoute] = field(default_factory=list)

    def route(
        self, method: str, path: str, *, name: str, example: str | None = None, ok_status: int = 200
    ) -> Callable[[View], View]:
        if not path.startswith(PANEL_PREFIX):
            raise ValueError(f"panel routes live under {PANEL_PREFIX}: {path}")

        def add(view: View) -> View:
            if access_of(view) is None:
                raise TypeError(f"{path}: declare who may see it with @require(...) or @public")
            if any(r.name == name for r in self.routes):
                raise ValueError(f"panel route name {name!r} is used twice")
            self.routes.append(PanelRoute(method, path, view, name, example or path, ok_status))
            return view

        return add

    def get(self, path: str, **kwargs: Any) -> Callable[[View], View]:
        return self.route("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[View], View]:
        return self.route("POST", path, **kwargs)

    def __iter__(self) -> Iterator[PanelRoute]:
        return iter(self.routes)


def add_routes(app: web.Application, routes: list[PanelRoute]) -> None:
    for r in routes:
        app.router.add_route(r.method, r.path, r.handler, name=r.name)
