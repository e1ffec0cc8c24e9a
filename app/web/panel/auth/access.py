"""Access rules: every panel view declares who may open it with `@require(...)` or `@public`."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from app.domain.staff import Role, Staff
from app.web.panel.auth.language import gettext
from app.web.panel.auth.pages import login_redirect, refusal
from app.web.panel.auth.sessions import STAFF, current_staff

View = Callable[[web.Request], Awaitable[web.StreamResponse]]
ACCESS_ATTRIBUTE = "__panel_access__"


@dataclass(frozen=True)
class Access:
    """Who may open a view: public (no login), or staff with one of `roles` (admins always)."""

    public: bool = False
    roles: tuple[Role, ...] = ()  # empty and not public: any logged-in staff

    def allows(self, staff: Staff | None) -> bool:
        if self.public:
            return True
        return staff is not None and staff.has_role(*self.roles)


def require(*roles: Role | str) -> Callable[[View], View]:
    """Staff with one of `roles` (admins may do everything); no roles: any logged-in staff.

    Anonymous visitors are sent to the login page (API-style requests get 401 JSON);
    staff without the role get a friendly 403 page.
    """
    access = Access(roles=tuple(Role(role) for role in roles))

    def decorate(view: View) -> View:
        @functools.wraps(view)
        async def guarded(request: web.Request) -> web.StreamResponse:
            staff = await current_staff(request)
            if staff is None:
                raise login_redirect(request)
            if not access.allows(staff):
                _ = gettext(request)
                return await refusal(request, 403, _("Your role does not give access to this page."))
            request[STAFF] = staff
            return await view(request)

        setattr(guarded, ACCESS_ATTRIBUTE, access)
        return guarded

    return decorate


def public(view: View) -> View:
    """A panel view anyone may open (the login pages)."""
    setattr(view, ACCESS_ATTRIBUTE, Access(public=True))
    return view


def access_of(view: object) -> Access | None:
    """The access a view declared, or None when it declared none."""
    access = getattr(view, ACCESS_ATTRIBUTE, None)
    return access if isinstance(access, Access) else None
