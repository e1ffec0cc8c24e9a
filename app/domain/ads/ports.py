"""What the ads area needs from the outside: how its messages look in Telegram (the bot renders)."""

from __future__ import annotations

from typing import Protocol

from app.db.queries.ads import AdView
from app.domain.outbox import Call


class AdMessages(Protocol):
    """Renders the messages about ads; the bot layer implements it (app/bot/ad_messages.py).

    The domain decides what is sent, to whom and when; this decides how it looks. Methods
    return calls without chat_id (and without the message_id of an edit): the domain adds
    those, often as outbox placeholders for messages not sent yet.
    """

    def link(self, ad_id: int) -> str:
        """The "Write to the seller" deep link of an ad, as its caption shows it."""

    def admin_note(self, view: AdView, language: str) -> list[Call]:
        """The notification to one admin: the photos, then a text with the decision buttons."""

    def admin_note_decided(
        self, view: AdView, language: str, *, approved: bool, by: str, reason: str | None
    ) -> Call:
        """The edit of the notification's text once decided: who decided, buttons gone."""

    def channel_post(self, view: AdView, *, from_storage: bool) -> Call:
        """The ad in its channel: an album with the caption, or one photo."""

    def post_closed(self, view: AdView, *, mark: str, album: bool) -> Call:
        """The edit of a channel post when the ad is sold or expired."""

    def post_edited(self, view: AdView) -> Call:
        """The in-place edit of a channel post after an edited ad is approved again."""

    def seller_updated(self, view: AdView, language: str) -> Call:
        """Tell the seller their edited ad is approved and its post updated."""

    def seller_published(self, view: AdView, language: str) -> Call:
        """Tell the seller it is published (a forward of the post follows)."""

    def seller_rejected(self, view: AdView, language: str, reason: str) -> Call:
        """Tell the seller it was rejected, and why."""

    def checkin(self, view: AdView, language: str, ask_number: int) -> Call:
        """Ask the seller whether the ad is sold."""

    def seller_expired(self, view: AdView, language: str) -> Call:
        """Tell the seller the ad expired for want of an answer."""
