"""Who may see a stored file through /media/{key}: only a published ad's photos are public.

Each kind of file is told by where it was stored (its key's folder) and the rows naming it:
- an ad's photo (`ad_photos`): public once one of its ads is published; before that (pending,
  rejected) only for staff who moderate one of its ads' channels (admins moderate them all);
- `support/…` (what users and operators sent the desk): operators and admins;
- `chat/…` (web chat): only when a reported conversation shows it, for operators and admins
  (the conversation's members see their photos through /chat/photos/{id});
- `broadcasts/…`, and anything else (a draft's photo no ad names yet): admins only.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.db import Conn
from app.db.queries import moderation_queue
from app.domain import staff as staff_domain
from app.domain.chat import conversations
from app.domain.staff import Role, Staff

SUPPORT_FOLDER = "support/"
CHAT_FOLDER = "chat/"


@dataclass(frozen=True, slots=True)
class MediaAccess:
    allowed: bool
    public: bool  # anyone may see it (and caches may keep it)


async def access(conn: Conn, staff: Staff | None, key: str) -> MediaAccess:
    """Whether this visitor (None: not logged in to the panel) may see the file under `key`."""
    owner = await moderation_queue.media_owner(conn, key)
    if owner.published:
        return MediaAccess(allowed=True, public=True)
    allowed = staff is not None and await _staff_may_see(conn, staff, key, owner)
    return MediaAccess(allowed=allowed, public=False)


async def _staff_may_see(conn: Conn, staff: Staff, key: str, owner: moderation_queue.MediaOwner) -> bool:
    if owner.channel_ids:  # an ad's photo, not published: its channels' moderators
        return any([await staff_domain.can_moderate(conn, staff, c) for c in owner.channel_ids])
    if key.startswith(SUPPORT_FOLDER):
        return staff.has_role(Role.OPERATOR)
    if key.startswith(CHAT_FOLDER):
        return staff.has_role(Role.OPERATOR) and await conversations.photo_in_report(conn, key)
    return staff.has_role(Role.ADMIN)
