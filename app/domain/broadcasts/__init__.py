"""Broadcasts (E1): one message to everyone or a segment, each user in their language.

Recipients are fixed in one statement at start; the scheduler's tick feeds them to the outbox in
batches (`feed_running`) at a priority below every transactional row. Each recipient becomes
exactly one outbox row, written in the same transaction that links it to the recipient, so a
crash leaves a recipient with one row or none — never two; the outbox's claim rules then send a
row at most once (a death inside the call leaves it 'uncertain', never repeated). Pause and
cancel take back the rows nobody claimed yet, so nothing more leaves until resume.

Callers (the panel, the scheduler) use only what is exported here.
"""

from app.db.queries.broadcasts import Audience, Broadcast, BroadcastStatus, FailureReason, Progress
from app.domain.broadcasts.model import (
    FINISHED,
    LANGUAGES,
    MAX_CAPTION,
    STATUS_LABELS,
    BroadcastError,
    parse_buttons,
    render_text,
    status_label,
)
from app.domain.broadcasts.photos import MAX_BYTES as MAX_PHOTO_BYTES
from app.domain.broadcasts.photos import is_photo_key, store_photo
from app.domain.broadcasts.sending import (
    FEED_WINDOW,
    cancel,
    count_audience,
    create,
    failure_reasons,
    feed_running,
    get,
    pause,
    progress,
    recent,
    resume,
    schedule,
    send_test,
    start,
)

__all__ = [
    "FEED_WINDOW",
    "FINISHED",
    "LANGUAGES",
    "MAX_CAPTION",
    "MAX_PHOTO_BYTES",
    "STATUS_LABELS",
    "Audience",
    "Broadcast",
    "BroadcastError",
    "BroadcastStatus",
    "FailureReason",
    "Progress",
    "cancel",
    "count_audience",
    "create",
    "failure_reasons",
    "feed_running",
    "get",
    "is_photo_key",
    "parse_buttons",
    "pause",
    "progress",
    "recent",
    "render_text",
    "resume",
    "schedule",
    "send_test",
    "start",
    "status_label",
    "store_photo",
]
