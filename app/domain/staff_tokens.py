"""Staff API tokens (E3): a staff member's own named tokens for the staff API, acting with their
role. The text is shown once (only its SHA-256 is kept); tokens are revocable and note their
last use; creating and revoking are audited."""

from __future__ import annotations

from app import crypto
from app.db import Conn
from app.db.queries import staff_tokens as q
from app.db.queries.staff_tokens import StaffToken as StaffToken
from app.domain import staff as staff_domain
from app.domain.staff import Staff
from app.i18n import N_, UserError

# Distinct from the web chat's personal tokens (bzr_): one look tells which API a token is for.
TOKEN_PREFIX = "bzs_"
MAX_TOKENS = 20  # live tokens per staff member


class TokenError(UserError):
    """A token that cannot be made as asked."""


async def create_token(conn: Conn, staff: Staff, name: str) -> tuple[StaffToken, str]:
    """A new token for `staff`; its text is returned now and never again."""
    name = " ".join(name.split())[:64]
    if not name:
        raise TokenError(N_("Name the token (e.g. the program that will use it)."))
    live = [t for t in await q.tokens(conn, staff.id) if t.revoked_at is None]
    if len(live) >= MAX_TOKENS:
        raise TokenError(N_("At most {count} tokens: revoke one you no longer use."), count=MAX_TOKENS)
    secret = TOKEN_PREFIX + crypto.new_token()
    async with conn.transaction():
        token = await q.insert_token(conn, staff.id, name, crypto.token_hash(secret))
        await staff_domain.audit(
            conn, staff.id, "api_token.create", f"staff:{staff.id}", None, {"id": token.id, "name": name}
        )
    return token, secret


async def tokens(conn: Conn, staff: Staff) -> list[StaffToken]:
    return await q.tokens(conn, staff.id)


async def revoke_token(conn: Conn, staff: Staff, token_id: int) -> bool:
    """Revoke one of one's own tokens; False when it is not a live token of theirs."""
    async with conn.transaction():
        name = await q.revoke_token(conn, staff.id, token_id)
        if name is None:
            return False
        await staff_domain.audit(
            conn, staff.id, "api_token.revoke", f"staff:{staff.id}", {"id": token_id, "name": name}, None
        )
    return True


async def token_staff(conn: Conn, secret: str) -> Staff | None:
    """The active staff member behind a bearer token, while it is not revoked."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    return await q.token_staff(conn, crypto.token_hash(secret))
