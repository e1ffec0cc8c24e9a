"""The world on disk: one SQLite file, written after every change that a request makes.

Why SQLite: it is in the standard library, a commit is atomic (a crash loses at most the
request in progress, never half of one), and rows can be written one by one, so a save
writes only what changed: the new and changed messages of each chat (found by the chat's
event counter), new pending updates, new files, and the small objects whose JSON differs
from the last save. A journal with snapshots would need its own compaction and replay;
WAL mode gives us both.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .accounts import Bot, User
from .chats import Chat
from .media import StoredFile

if TYPE_CHECKING:
    from .timeline import Timeline
    from .world import World

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    timeline TEXT NOT NULL, message_id INTEGER NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (timeline, message_id)
);
CREATE TABLE IF NOT EXISTS updates (
    bot_id INTEGER NOT NULL, update_id INTEGER NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (bot_id, update_id)
);
CREATE TABLE IF NOT EXISTS files (
    unique_id TEXT PRIMARY KEY, meta TEXT NOT NULL, data BLOB NOT NULL
);
"""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class WorldStore:
    """Loads a World from its file and saves what changed since the last save."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._saved: dict[str, str] = {}  # object key -> JSON last written
        self._events: dict[str, int] = {}  # timeline key -> event last written
        self._update_marks: dict[int, tuple[int, int]] = {}  # bot -> (first pending, next id) written
        self._file_meta: dict[str, str] = {}

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # durable across a crash of the process
            conn.executescript(SCHEMA)
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # ------------------------------------------------------------ loading

    def load(self, world: World) -> None:
        """Fill an empty World with what the file holds."""
        db = self._db()
        objects = {k: v for k, v in db.execute("SELECT key, value FROM objects")}
        self._saved = dict(objects)
        for key, value in objects.items():
            kind = key.split(":", 1)[0]
            if kind == "user":
                state = json.loads(value)
                world.users[state["id"]] = User(**state)
            elif kind == "bot":
                bot = Bot.restore(json.loads(value))
                world.bots[bot.id] = bot
        for row in db.execute("SELECT unique_id, meta, data FROM files ORDER BY rowid"):
            meta = json.loads(row[1])
            world._keep(StoredFile(row[0], data=row[2], **meta))
            self._file_meta[row[0]] = row[1]
        for key, value in objects.items():
            if key.startswith("chat:"):
                chat = Chat.restore(json.loads(value))
                world.chats[chat.id] = chat
                self._load_messages(db, key, chat)
            elif key.startswith("dialog:"):
                state = json.loads(value)
                dialog = world.dialog(state["bot_id"], state["user_id"], chat_instance=state["chat_instance"])
                dialog.restore(state)
                self._load_messages(db, key, dialog)
            elif key == "world":
                world.restore_misc(json.loads(value))
        for bot_id, update_id, kind, value in db.execute(
            "SELECT bot_id, update_id, kind, value FROM updates ORDER BY bot_id, update_id"
        ):
            if (bot := world.bots.get(bot_id)) is not None:
                bot.updates.append((update_id, kind, json.loads(value)))
        for bot in world.bots.values():
            self._update_marks[bot.id] = (_first_pending(bot), bot.next_update_id)

    def _load_messages(self, db: sqlite3.Connection, key: str, timeline: Timeline) -> None:
        rows = db.execute(
            "SELECT message_id, value FROM messages WHERE timeline = ? ORDER BY message_id", (key,)
        )
        for message_id, value in rows:
            timeline.restore_message(message_id, json.loads(value))
        self._events[key] = timeline.event

    # ------------------------------------------------------------ saving

    def save(self, world: World) -> None:
        """Write what changed since the last save, in one transaction."""
        db = self._db()
        db.execute("BEGIN")
        try:
            self._save_objects(db, world)
            for bot in world.bots.values():
                self._save_updates(db, bot)
            self._save_files(db, world)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._saved.clear()  # unknown what made it: write everything next time
            self._events.clear()
            self._update_marks.clear()
            self._file_meta.clear()
            raise

    def _put(self, db: sqlite3.Connection, key: str, state: Any) -> None:
        value = _dumps(state)
        if self._saved.get(key) != value:
            db.execute("INSERT OR REPLACE INTO objects (key, value) VALUES (?, ?)", (key, value))
            self._saved[key] = value

    def _save_objects(self, db: sqlite3.Connection, world: World) -> None:
        for user in world.users.values():
            self._put(db, f"user:{user.id}", user.state())
        for bot in world.bots.values():
            self._put(db, f"bot:{bot.id}", bot.state())
        for chat in world.chats.values():
            key = f"chat:{chat.id}"
            if self._events.get(key) != chat.event or key not in self._saved:
                self._save_messages(db, key, chat)
            self._put(db, key, chat.state())
        for (bot_id, user_id), dialog in world.dialogs.items():
            key = f"dialog:{bot_id}:{user_id}"
            if self._events.get(key) != dialog.event or key not in self._saved:
                self._save_messages(db, key, dialog)  # every change of a dialog bumps its event
                self._put(db, key, dialog.state())
        self._put(db, "world", world.misc_state())

    def _save_messages(self, db: sqlite3.Connection, key: str, timeline: Timeline) -> None:
        since = self._events.get(key, -1)
        rows = [
            (key, mid, _dumps(timeline.message_state(mid)))
            for mid in timeline.messages
            if timeline.changed.get(mid, 0) > since or since < 0
        ]
        db.executemany("INSERT OR REPLACE INTO messages (timeline, message_id, value) VALUES (?, ?, ?)", rows)
        self._events[key] = timeline.event

    def _save_updates(self, db: sqlite3.Connection, bot: Bot) -> None:
        first, written_next = self._update_marks.get(bot.id, (0, 1))
        new = [(bot.id, uid, kind, _dumps(u)) for uid, kind, u in bot.updates if uid >= written_next]
        if new:
            db.executemany("INSERT OR REPLACE INTO updates VALUES (?, ?, ?, ?)", new)
        pending_from = _first_pending(bot)
        if pending_from != first:
            db.execute("DELETE FROM updates WHERE bot_id = ? AND update_id < ?", (bot.id, pending_from))
        self._update_marks[bot.id] = (pending_from, bot.next_update_id)

    def _save_files(self, db: sqlite3.Connection, world: World) -> None:
        fresh = []
        for uid in reversed(world.files):  # new files are the last ones
            if uid in self._file_meta:
                break
            fresh.append(uid)
        changed, world.dirty_files = world.dirty_files, set()
        for unique_id in [*fresh, *changed]:
            if (stored := world.files.get(unique_id)) is None:
                continue
            meta = asdict(stored)
            del meta["unique_id"], meta["data"]
            value = _dumps(meta)
            if self._file_meta.get(unique_id) == value:
                continue
            if unique_id in self._file_meta:
                db.execute("UPDATE files SET meta = ? WHERE unique_id = ?", (value, unique_id))
            else:
                db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?)", (unique_id, value, stored.data))
            self._file_meta[unique_id] = value


def _first_pending(bot: Bot) -> int:
    return bot.updates[0][0] if bot.updates else bot.next_update_id


def save_quietly(world: World) -> None:
    """Save, logging (not raising) a failure: a full disk must not stop the emulated Telegram."""
    if world.store is None:
        return
    try:
        world.store.save(world)
    except (sqlite3.Error, OSError, TypeError, ValueError):
        log.exception("sandbox: could not save the world to %s", world.store.path)
