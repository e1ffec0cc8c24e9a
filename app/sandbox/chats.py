"""Groups, supergroups and channels: members with statuses and rights, and who may do what."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import Message, TelegramError, UserActionError
from .timeline import Timeline

if TYPE_CHECKING:
    from .world import Bot

CHAT_TYPES = ("group", "supergroup", "channel")
STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
ACTIVE = frozenset({"creator", "administrator", "member"})
PERMISSIONS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_react_to_messages",
    "can_edit_tag",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
)
# Rights every ChatMemberAdministrator carries, then those only some chat types have.
BASE_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",  # required by aiogram 3.31, newer than our spec file
)
CHANNEL_RIGHTS = ("can_post_messages", "can_edit_messages", "can_manage_direct_messages")
GROUP_RIGHTS = ("can_pin_messages", "can_manage_topics", "can_manage_tags")
ALL_RIGHTS = frozenset(BASE_RIGHTS + CHANNEL_RIGHTS + GROUP_RIGHTS)
USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
FIRST_GROUP = 4_000_000_001  # groups: -N
FIRST_SUPERGROUP = 2_000_000_001  # supergroups and channels: -100 followed by ten digits


@dataclass(slots=True)
class Member:
    """One account's standing in a chat."""

    status: str
    rights: dict[str, bool] = field(default_factory=dict)
    until_date: int = 0
    custom_title: str | None = None
    tag: str | None = None
    permissions: dict[str, bool] | None = None  # a restricted member's own ChatPermissions
    is_member: bool = True  # a restricted member may also be outside the chat


class Chat(Timeline):
    """A group, supergroup or channel: one message sequence shared by every member and bot."""

    def __init__(self, chat_id: int, type: str, title: str, username: str | None):
        super().__init__()
        self.id = chat_id
        self.type = type
        self.title = title
        self.username = username
        self.members: dict[int, Member] = {}
        self.invite_links: list[dict[str, Any]] = []
        # What else Telegram keeps of a chat (JSON values): description, photo, permissions,
        # sticker set, forum topics, join requests, banned sender chats, verification, boosts.
        self.info: dict[str, Any] = {}
        self._dict: dict[str, Any] | None = None

    def state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "title": self.title,
            "username": self.username,
            "members": [[k, asdict(m)] for k, m in self.members.items()],
            "invite_links": self.invite_links,
            "info": self.info,
            "timeline": self.meta_state(),
        }

    @classmethod
    def restore(cls, state: dict[str, Any]) -> Chat:
        chat = cls(state["id"], state["type"], state["title"], state["username"])
        chat.members = {k: Member(**m) for k, m in state["members"]}
        chat.invite_links = state["invite_links"]
        chat.info = state["info"]
        chat.restore_meta(state["timeline"])
        return chat

    def retitle(self, title: str | None = None, username: str | None = None) -> None:
        if title is not None:
            self.title = title
        if username is not None:
            self.username = username or None
        self._dict = None

    @property
    def chat_id(self) -> int:
        return self.id

    @property
    def kind(self) -> str:
        """The word Telegram's errors use: "channel", "group" or "supergroup"."""
        return self.type

    def chat_dict(self) -> dict[str, Any]:
        if self._dict is None:
            d: dict[str, Any] = {"id": self.id, "type": self.type, "title": self.title}
            if self.username:
                d["username"] = self.username
            if self.info.get("is_forum"):
                d["is_forum"] = True
            self._dict = d
        return self._dict

    def status(self, member_id: int) -> str:
        member = self.members.get(member_id)
        return member.status if member is not None else "left"

    def active(self, member_id: int) -> bool:
        member = self.members.get(member_id)
        if member is not None and member.status == "restricted":
            return member.is_member
        return self.status(member_id) in ACTIVE

    def may(self, member_id: int, permission: str) -> bool:
        """A member's ChatPermissions: their own when restricted, else the chat's."""
        member = self.members.get(member_id)
        if member is not None and member.status in ("creator", "administrator"):
            return True
        if member is not None and member.status == "restricted" and member.permissions is not None:
            return member.permissions.get(permission, False)
        return (self.info.get("permissions") or {}).get(permission, True)

    def right(self, member_id: int, name: str) -> bool:
        member = self.members.get(member_id)
        if member is None:
            return False
        return member.status == "creator" or (
            member.status == "administrator" and member.rights.get(name, False)
        )

    def is_admin(self, member_id: int) -> bool:
        return self.status(member_id) in ("creator", "administrator")

    def summary(self) -> dict[str, Any]:
        """The chat as the user API lists it."""
        return {
            **self.chat_dict(),
            "event": self.event,
            "member_count": sum(1 for m in self.members.values() if m.status in ACTIVE),
            "members": {str(k): m.status for k, m in self.members.items()},
        }


class ChatsMixin:
    """World methods for chats beyond private ones (mixed into World)."""

    chats: dict[int, Chat]
    users: dict[int, Any]
    bots: dict[int, Any]

    def _init_chats(self) -> None:
        self.chats = {}
        self._next_group = FIRST_GROUP
        self._next_supergroup = FIRST_SUPERGROUP

    # ------------------------------------------------------------ set-up

    def add_chat(self, type: str, title: str, *, id: int | None = None, username: str | None = None) -> Chat:
        """Create a group, supergroup or channel; ids are negative like Telegram's."""
        if type not in CHAT_TYPES:
            raise UserActionError(400, f"type must be one of {', '.join(CHAT_TYPES)}")
        if not title or len(title) > 128:
            raise UserActionError(400, "title must be 1-128 characters")
        username = username.lstrip("@") if username else None
        if username is not None:
            if type == "group":
                raise UserActionError(400, "a basic group cannot have a username; use a supergroup")
            if not USERNAME_RE.match(username) or self._by_username(username) is not None:
                raise UserActionError(400, f"username {username!r} is invalid or taken")
        chat_id = id if id is not None else self._new_chat_id(type)
        if chat_id >= 0 or chat_id in self.chats:
            raise UserActionError(400, f"chat id {chat_id} must be negative and unused")
        chat = self.chats[chat_id] = Chat(chat_id, type, title, username)
        return chat

    def _new_chat_id(self, type: str) -> int:
        if type == "group":
            while -self._next_group in self.chats:
                self._next_group += 1
            return -self._next_group
        while -(10**12 + self._next_supergroup) in self.chats:
            self._next_supergroup += 1
        return -(10**12 + self._next_supergroup)

    def _by_username(self, username: str) -> Chat | None:
        name = username.lstrip("@").lower()
        for chat in self.chats.values():
            if chat.username and chat.username.lower() == name:
                return chat
        return None

    def get_chat(self, chat_id: int | str) -> Chat:
        """A chat by id or @username for the user API (404 when there is none)."""
        chat = self.find_chat(chat_id)
        if chat is None:
            raise UserActionError(404, f"no group or channel {chat_id}")
        return chat

    def find_chat(self, chat_id: int | str) -> Chat | None:
        if isinstance(chat_id, str):
            if chat_id.startswith("@"):
                return self._by_username(chat_id)
            try:
                chat_id = int(chat_id)
            except ValueError:
                return None
        return self.chats.get(chat_id)

    def account(self, member_id: int) -> Any:
        """The User or Bot with that id."""
        account = self.users.get(member_id) or self.bots.get(member_id)
        if account is None:
            raise UserActionError(404, f"no user or bot with id {member_id}")
        return account

    def set_member(
        self,
        chat_id: int | str,
        member_id: int,
        status: str,
        *,
        by: int | None = None,
        until_date: int = 0,
        **rights: bool,
    ) -> Member:
        """Put a user or bot in `status`; queues chat_member / my_chat_member as Telegram does.

        An administrator gets exactly the rights given as True (can_manage_chat is implied).
        `by` is who made the change (default: the member for joins and leaves, else the creator).
        """
        chat = self.get_chat(chat_id)
        account = self.account(member_id)
        if status not in STATUSES:
            raise UserActionError(400, f"status must be one of {', '.join(STATUSES)}")
        if unknown := set(rights) - ALL_RIGHTS - {"_promoted_by_bot"}:
            raise UserActionError(400, f"unknown rights: {', '.join(sorted(unknown))}")
        if status == "creator" and (member_id in self.bots or self._creator(chat) not in (None, member_id)):
            raise UserActionError(400, "a chat has one creator, and it is a user")
        old = self.member_dict(chat, member_id)
        granted = {"can_manage_chat": True, **rights} if status == "administrator" else {}
        previous = chat.members.get(member_id)
        chat.members[member_id] = Member(status, {k: bool(v) for k, v in granted.items()}, until_date)
        if previous is not None and status == previous.status == "administrator":
            chat.members[member_id].custom_title = previous.custom_title
        new = self.member_dict(chat, member_id)
        if old != new:
            actor = by if by is not None else self._default_actor(chat, member_id, status)
            self._announce_member(chat, account, old, new, actor)
        return chat.members[member_id]

    def _creator(self, chat: Chat) -> int | None:
        return next((k for k, m in chat.members.items() if m.status == "creator"), None)

    def _default_actor(self, chat: Chat, member_id: int, status: str) -> int:
        if status in ("member", "left") and member_id not in self.bots:
            return member_id  # users join and leave by themselves; bots are added by someone
        return self._creator(chat) or member_id

    def member_dict(self, chat: Chat, member_id: int) -> dict[str, Any]:
        """The ChatMember object of an account in a chat (status "left" when absent)."""
        user = self.account(member_id).as_dict()
        member = chat.members.get(member_id) or Member("left")
        d: dict[str, Any] = {"status": member.status, "user": user}
        if member.status == "creator":
            d["is_anonymous"] = False
            if member.custom_title:
                d["custom_title"] = member.custom_title
        elif member.status == "administrator":
            d |= {"can_be_edited": bool(member.rights.get("_promoted_by_bot")), "is_anonymous": False}
            extra = CHANNEL_RIGHTS if chat.type == "channel" else GROUP_RIGHTS
            for name in BASE_RIGHTS + extra:
                d[name] = member.rights.get(name, False)
            if member.custom_title:
                d["custom_title"] = member.custom_title
        elif member.status == "restricted":
            permissions = member.permissions or {}
            d |= {"is_member": member.is_member, "until_date": member.until_date}
            d |= {name: permissions.get(name, False) for name in PERMISSIONS}
        elif member.status == "kicked":
            d["until_date"] = member.until_date
        if member.tag and member.status in ("member", "restricted"):
            d["tag"] = member.tag
        return d

    def _announce_member(
        self, chat: Chat, account: Any, old: dict[str, Any], new: dict[str, Any], actor_id: int
    ) -> None:
        """my_chat_member to the bot that changed; chat_member to the other admin bots."""
        change = {
            "chat": chat.chat_dict(),
            "from": self.account(actor_id).as_dict(),
            "date": self.now(),  # type: ignore[attr-defined]
            "old_chat_member": old,
            "new_chat_member": new,
        }
        if account.id in self.bots:
            self.bots[account.id].push_update("my_chat_member", change)
        for bot_id in chat.members:
            if bot_id in self.bots and bot_id != account.id and chat.is_admin(bot_id):
                self.bots[bot_id].push_update("chat_member", change)
        chat.bump()
        if chat.type != "channel":
            self._service_message(chat, account, _inside(old), _inside(new), change["from"])

    def _service_message(self, chat: Chat, account: Any, was: bool, now: bool, actor: dict[str, Any]) -> None:
        """ "X joined" / "X left" in a group, as a message every bot in the chat receives."""
        if was == now:
            return  # a promotion or a ban of someone absent shows nothing
        key = "new_chat_members" if now else "left_chat_member"
        who = account.as_dict()
        msg: Message = {
            "message_id": chat.next_message_id,
            "from": actor,
            "chat": chat.chat_dict(),
            "date": self.now(),  # type: ignore[attr-defined]
            key: [who] if key == "new_chat_members" else who,
        }
        chat.store(msg, actor["id"])
        self.deliver(chat, "message", msg, author_id=0)

    # ------------------------------------------------------------ what bots may do

    def bot_may(self, bot: Bot, chat: Chat, action: str) -> None:
        """Raise what Telegram answers when `bot` may not `action` ("send"/"read"/...) in chat."""
        status = chat.status(bot.id)
        if status not in ACTIVE:
            if action == "read" and chat.username:
                return  # public chats can be looked at from outside
            if status == "kicked":
                raise TelegramError(403, f"Forbidden: bot was kicked from the {chat.kind} chat")
            raise TelegramError(403, f"Forbidden: bot is not a member of the {chat.kind} chat")
        if action == "send" and chat.type == "channel" and not chat.right(bot.id, "can_post_messages"):
            raise TelegramError(400, "Bad Request: need administrator rights in the channel chat")

    def bot_can_edit(self, bot: Bot, chat: Chat, message_id: int) -> bool:
        own = chat.authors.get(message_id) == bot.id
        if chat.type != "channel":
            return own
        if chat.right(bot.id, "can_edit_messages"):
            return True
        return own and chat.right(bot.id, "can_post_messages")

    def bot_can_delete(self, bot: Bot, chat: Chat, message_id: int) -> bool:
        if chat.right(bot.id, "can_delete_messages"):
            return True
        own = chat.authors.get(message_id) == bot.id
        return own and (chat.type != "channel" or chat.right(bot.id, "can_post_messages"))

    def deliver(self, chat: Chat, kind: str, msg: Message, *, author_id: int) -> None:
        """Queue a chat message for every bot in the chat that would see it (not its author).

        Bots run in privacy mode: in groups a bot that is not an administrator sees only
        commands, replies to its own messages and mentions of it.
        """
        from .media import rekey  # media imports chats' neighbours; import late

        for bot_id in chat.members:
            bot = self.bots.get(bot_id)
            if bot is None or bot_id == author_id or not chat.active(bot_id):
                continue
            if kind.endswith("message") and not chat.is_admin(bot_id) and not _addressed(bot, msg):
                continue
            bot.push_update(kind, rekey(msg, bot_id))

    # ------------------------------------------------------------ what users do

    def user_posts(self, chat_id: int | str, user_id: int, content: dict[str, Any]) -> Message:
        """A user writes in a group, or (an admin with can_post_messages) posts in a channel."""
        chat = self.get_chat(chat_id)
        user = self.users.get(user_id)
        if user is None:
            raise UserActionError(404, f"no user with id {user_id}")
        if not chat.active(user_id):
            raise UserActionError(400, f"user {user_id} is not a member of {chat.title!r}")
        channel = chat.type == "channel"
        if channel and not chat.right(user_id, "can_post_messages"):
            raise UserActionError(400, "only the creator and admins with can_post_messages post in a channel")
        msg: Message = {"message_id": chat.next_message_id}
        msg |= {"sender_chat": chat.chat_dict()} if channel else {"from": user.as_dict()}
        msg |= {"chat": chat.chat_dict(), "date": self.now(), **content}  # type: ignore[attr-defined]
        chat.store(msg, user_id)
        self.deliver(chat, "channel_post" if channel else "message", msg, author_id=user_id)
        return msg

    def user_joins(self, chat_id: int | str, user_id: int) -> Member:
        chat = self.get_chat(chat_id)
        if chat.status(user_id) == "kicked":
            raise UserActionError(400, "the user is banned from this chat")
        if chat.active(user_id):
            return chat.members[user_id]
        return self.set_member(chat.id, user_id, "member", by=user_id)

    def user_joins_by_link(self, chat_id: int | str, user_id: int, url: str) -> Member | None:
        """Join through an invite link; a link that creates join requests queues
        chat_join_request to the admin bots instead (None: the request waits)."""
        chat = self.get_chat(chat_id)
        link = next((x for x in chat.invite_links if x["invite_link"] == url), None)
        now = self.now()  # type: ignore[attr-defined]
        if link is None or link["is_revoked"] or (link.get("expire_date") or now + 1) <= now:
            raise UserActionError(400, "the invite link is invalid, revoked or expired")
        if not link.get("creates_join_request"):
            return self.user_joins(chat.id, user_id)
        user = self.users[user_id]
        chat.info.setdefault("join_requests", {})[str(user_id)] = {"date": now, "invite_link": url}
        link["pending_join_request_count"] = link.get("pending_join_request_count", 0) + 1
        request = {"chat": chat.chat_dict(), "from": user.as_dict(), "user_chat_id": user_id, "date": now}
        request["invite_link"] = link
        for bot_id in chat.members:
            if bot_id in self.bots and chat.right(bot_id, "can_invite_users"):
                self.bots[bot_id].push_update("chat_join_request", request)
        chat.bump()
        return None

    def user_leaves(self, chat_id: int | str, user_id: int) -> Member:
        chat = self.get_chat(chat_id)
        if chat.status(user_id) == "creator":
            raise UserActionError(400, "the creator cannot leave; make someone else creator first")
        return self.set_member(chat.id, user_id, "left", by=user_id)

    def chat_state(self, chat_id: int | str) -> dict[str, Any]:
        """A group or channel as the user API returns it: the chat, its members and messages."""
        chat = self.get_chat(chat_id)
        return {
            **chat.summary(),
            "chat": chat.chat_dict(),
            "messages": chat.views(),
            "pinned": list(chat.pinned),
        }


def _inside(member: dict[str, Any]) -> bool:
    """Is the member (a ChatMember object) in the chat?"""
    return member["status"] in ACTIVE or (member["status"] == "restricted" and member["is_member"])


def _addressed(bot: Bot, msg: Message) -> bool:
    """Would a bot in privacy mode see this group message?"""
    if "new_chat_members" in msg or "left_chat_member" in msg:
        return True  # service messages reach every bot
    text = msg.get("text") or msg.get("caption") or ""
    if text.startswith("/") or f"@{bot.username}".lower() in text.lower():
        return True
    reply = msg.get("reply_to_message") or {}
    return (reply.get("from") or {}).get("id") == bot.id
