"""The outbox as business code sees it: enqueue a Bot API call in your transaction, read results."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db import Conn
from app.db.queries import outbox as q
from app.db.queries.outbox import Delivery, message_ids
from app.db.queries.outbox import OutboxStatus as OutboxStatus  # callers name statuses by it
from app.i18n import N_

# Payload placeholders, resolved by the sender when the row goes out:
#   {"$message_id_of": 12}              -> the message id row 12 produced (an album: its first)
#   {"$message_id_of": 12, "index": 2}  -> the third message of row 12's album
#   {"$message_ids_of": 12}             -> every message id row 12 produced, as a list
#   {"$storage": "ads/1/p1.jpg"}        -> a file from our Storage, uploaded with the call
MESSAGE_ID_OF = "$message_id_of"
MESSAGE_IDS_OF = "$message_ids_of"
STORAGE = "$storage"

# Calls that may be repeated when the first try's outcome is unknown: doing them twice leaves
# the chat as doing them once. Anything else (send*, copy*, forward*, …) may show the user
# a duplicate, so it is never repeated blindly.
IDEMPOTENT_PREFIXES = (
    "edit",
    "delete",
    "pin",
    "unpin",
    "set",
    "ban",
    "unban",
    "restrict",
    "approve",
    "decline",
)
# A Bot API call as business code builds it: the method and its params (often without chat_id,
# which the sender of a notice adds). Each area's "how it looks" port returns these.
Call = tuple[str, dict[str, Any]]
METHOD_RE = re.compile(r"^[a-z][A-Za-z]{2,63}$")

# What an outbox row's status means to staff reading deliveries (an ad's, a ticket's answers).
STATUS_LABELS = {
    OutboxStatus.PENDING: N_("queued"),
    OutboxStatus.SENDING: N_("sending"),
    OutboxStatus.SENT: N_("delivered"),
    OutboxStatus.FAILED: N_("failed"),
    OutboxStatus.UNCERTAIN: N_("unknown, check"),
    OutboxStatus.BLOCKED: N_("the user blocked the bot"),
}
STATUSES = tuple(OutboxStatus)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One Bot API call to make on the system's initiative (for enqueue_many)."""

    method: str
    params: dict[str, Any]
    chat_id: int | None = None
    ref_kind: str | None = None
    ref_id: int | None = None
    not_before: datetime | None = None


def resolve_reference(value: dict[str, Any], deps: dict[str, Any]) -> int | list[int]:
    """The message id(s) a placeholder stands for, given {row id: {status, result}} of the rows
    referred to; LookupError when that row did not send what is asked for."""
    ref = value.get(MESSAGE_ID_OF, value.get(MESSAGE_IDS_OF))
    dep = deps.get(str(ref))
    if dep is None or dep["status"] != OutboxStatus.SENT:
        raise LookupError(
            f"refers to outbox row {ref}, which is {'missing' if dep is None else dep['status']}"
        )
    ids = message_ids(dep["result"])
    if MESSAGE_IDS_OF in value:
        return ids
    index = value.get("index", 0)
    if not isinstance(index, int) or not -len(ids) <= index < len(ids):
        raise LookupError(f"outbox row {ref} has no message {index}")
    return ids[index]


def is_idempotent(method: str) -> bool:
    return method.startswith(IDEMPOTENT_PREFIXES)


def dependencies(params: Any) -> list[int]:
    """The outbox rows whose results `params` refer to through placeholders, in order."""
    found: list[int] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key in (MESSAGE_ID_OF, MESSAGE_IDS_OF):
                if key in value:
                    ref = value[key]
                    if not isinstance(ref, int) or isinstance(ref, bool):
                        raise ValueError(f"{key} takes an outbox row id, not {ref!r}")
                    if ref not in found:
                        found.append(ref)
                    return
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(params)
    return found


def _row(item: Outgoing) -> tuple[Any, ...]:
    """Validate one call and turn it into the columns the queries take."""
    if not METHOD_RE.match(item.method):
        raise ValueError(f"{item.method!r} is not a Bot API method name (e.g. 'sendMessage')")
    if not isinstance(item.params, dict):
        raise TypeError("params must be a dict of the method's parameters")
    chat_id = item.chat_id if item.chat_id is not None else item.params.get("chat_id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        raise ValueError("chat_id: give the numeric chat id the call addresses")
    if (item.ref_kind is None) != (item.ref_id is None):
        raise ValueError("ref_kind and ref_id go together")
    deps = dependencies(item.params)
    return (
        chat_id,
        item.method,
        json.dumps(item.params, ensure_ascii=False),
        is_idempotent(item.method),
        deps,
        item.ref_kind,
        item.ref_id,
        item.not_before,
    )


async def enqueue(
    conn: Conn,
    method: str,
    params: dict[str, Any],
    *,
    chat_id: int | None = None,
    ref_kind: str | None = None,
    ref_id: int | None = None,
    not_before: datetime | None = None,
    after_sent: int | None = None,
) -> int:
    """Queue a Bot API call in the caller's transaction; returns the outbox row id.

    `chat_id` defaults to params["chat_id"]; give it when that is not a number. The row goes
    out after commit, in order with the chat's other rows; nothing goes if the transaction
    rolls back. Refer to an earlier row's message with {"$message_id_of": row_id}. With
    `after_sent`, the call is made only once that row was sent; if it was not (failed, blocked,
    uncertain), this row fails without being called (create, then delete).
    """
    chat, name, params_json, idempotent, deps, kind, ref, due = _row(
        Outgoing(method, params, chat_id, ref_kind, ref_id, not_before)
    )
    if after_sent is not None and after_sent not in deps:
        deps = [*deps, after_sent]
    return await q.insert(
        conn,
        chat_id=chat,
        method=name,
        params_json=params_json,
        idempotent=idempotent,
        depends_on=deps or None,
        ref_kind=kind,
        ref_id=ref,
        not_before=due,
        after_sent=after_sent,
    )


async def enqueue_many(conn: Conn, items: Iterable[Outgoing]) -> list[int]:
    """Queue many calls in one round trip (e.g. a broadcast batch); ids in the given order."""
    rows = []
    for item in items:
        chat, name, params_json, idempotent, deps, kind, ref, due = _row(item)
        rows.append((chat, name, params_json, idempotent, ",".join(map(str, deps)), kind, ref, due))
    return await q.insert_many(conn, rows)


async def result_of(conn: Conn, ref_kind: str, ref_id: int) -> list[Delivery]:
    """Every outbox row about (ref_kind, ref_id), oldest first: what was sent where, with the
    message ids to edit or delete later (a row not sent yet can be referred to by its id)."""
    return await q.by_ref(conn, ref_kind, ref_id)


async def get_delivery(conn: Conn, outbox_id: int) -> Delivery | None:
    return await q.get(conn, outbox_id)


async def list_uncertain(conn: Conn, limit: int = 100) -> list[Delivery]:
    """Sends whose outcome is unknown (a time-out, or their sender died): for an admin to check
    the chat and decide; they are never repeated blindly."""
    return await q.uncertain(conn, limit)


async def resend_uncertain(conn: Conn, outbox_id: int, admin: str) -> bool:
    """An admin checked: the message did not arrive, send it again."""
    return await q.settle_uncertain(conn, outbox_id, resend=True, note=f"resent by {admin}")


async def confirm_uncertain(conn: Conn, outbox_id: int, admin: str) -> bool:
    """An admin checked: the message did arrive. It is closed as sent, never sent again; its
    message id stays unknown."""
    return await q.settle_uncertain(conn, outbox_id, resend=False, note=f"marked delivered by {admin}")
