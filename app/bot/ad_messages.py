"""How ad messages look in Telegram: the AdMessages port of app/domain, for the outbox."""

from __future__ import annotations

from typing import Any

from app.bot.callbacks import CheckinCb, ModCb
from app.domain.ads import AdView, Call, Draft, caption, describe_flag, field_names
from app.domain.outbox import STORAGE
from app.i18n import Gettext, Translator


def _button(text: str, data: str = "", url: str | None = None) -> dict[str, str]:
    return {"text": text, "url": url} if url else {"text": text, "callback_data": data}


class BotAdMessages:
    """Renders in the reader's language; channel posts in the channel's language."""

    def __init__(self, translator: Translator, bot_username: str, panel_url: str | None = None) -> None:
        self.translator = translator
        self.bot_username = bot_username
        # The panel's moderation page, for the admins' "Edit" button; Telegram only takes
        # https links in buttons, so without one (a local run) the button is left out.
        self.panel_url = panel_url.rstrip("/") if panel_url else None

    def link(self, ad_id: int) -> str:
        """A deep link into the bot for writing to the seller (the web chat replaces it later)."""
        return f"https://t.me/{self.bot_username}?start=ad_{ad_id}"

    def _caption(self, view: AdView, _: Gettext, mark: str | None = None) -> str:
        hashtag = view.category.hashtag if view.category else None
        return caption(
            Draft.of(view.ad, view.photos), _, hashtag=hashtag, link=self.link(view.ad.id), mark=mark
        )

    def _photos(self, view: AdView, *, from_storage: bool) -> list[Any]:
        return [
            {STORAGE: p.storage_key} if from_storage and p.storage_key else p.file_id for p in view.photos
        ]

    def _note_text(self, view: AdView, _: Gettext) -> str:
        seller = view.seller
        who = seller.handle
        if view.changed is None:
            lines = [_("New ad #{id} for {channel}").format(id=view.ad.id, channel=view.channel.title)]
        else:  # an edit of an ad the admins may have seen: say so, and what changed
            lines = [
                _("✏️ Edited ad #{id} for {channel}").format(id=view.ad.id, channel=view.channel.title),
                _("Changed: {fields}").format(fields=field_names(view.changed, _))
                if view.changed
                else _("The seller sent it again without changes."),
            ]
        lines += [
            "",
            self._caption(view, _),
            "",
            _("Seller: {name} (id {id})").format(name=who, id=seller.id),
        ]
        flags = view.ad.flags or []
        if flags:
            lines.append("⚠️ " + "; ".join(describe_flag(f, _) for f in flags))
        return "\n".join(lines)

    def admin_note(self, view: AdView, language: str) -> list[Call]:
        _ = self.translator(language)
        photos = self._photos(view, from_storage=False)
        calls: list[Call] = []
        if len(photos) == 1:
            calls.append(("sendPhoto", {"photo": photos[0]}))
        elif photos:
            calls.append(("sendMediaGroup", {"media": [{"type": "photo", "media": p} for p in photos]}))
        ad_id = view.ad.id
        keyboard = [
            [
                _button(_("✅ Approve"), ModCb(action="approve", ad_id=ad_id).pack()),
                _button(_("❌ Reject"), ModCb(action="reject", ad_id=ad_id).pack()),
            ],
            [_button(_("✏️ Edit"), ModCb(action="edit", ad_id=ad_id).pack())],  # in the bot, as in the panel
        ]
        if self.panel_url and self.panel_url.startswith("https://"):
            page = f"{self.panel_url}/panel/moderation#ad-{ad_id}"
            keyboard[1].append(_button(_("🖥 In the panel"), url=page))
        calls.append(
            ("sendMessage", {"text": self._note_text(view, _), "reply_markup": {"inline_keyboard": keyboard}})
        )
        return calls

    def admin_note_decided(
        self, view: AdView, language: str, *, approved: bool, by: str, reason: str | None
    ) -> Call:
        _ = self.translator(language)
        outcome = (
            _("✅ Approved by {name}").format(name=by)
            if approved
            else _("❌ Rejected by {name}: {reason}").format(name=by, reason=reason)
        )
        return "editMessageText", {"text": f"{self._note_text(view, _)}\n\n{outcome}"}

    def channel_post(self, view: AdView, *, from_storage: bool) -> Call:
        _ = self.translator(view.channel.language)
        text = self._caption(view, _)
        photos = self._photos(view, from_storage=from_storage)
        if len(photos) == 1:
            # One photo can carry a button; an album cannot, so its caption holds the link.
            keyboard = [[_button(_("✍️ Write to the seller"), url=self.link(view.ad.id))]]
            return "sendPhoto", {
                "photo": photos[0],
                "caption": text,
                "reply_markup": {"inline_keyboard": keyboard},
            }
        media = [{"type": "photo", "media": p} for p in photos]
        media[0]["caption"] = text
        return "sendMediaGroup", {"media": media}

    def post_closed(self, view: AdView, *, mark: str, album: bool) -> Call:
        _ = self.translator(view.channel.language)
        return "editMessageCaption", {"caption": self._caption(view, _, mark)}

    def post_edited(self, view: AdView) -> Call:
        """The edit of a channel copy once a seller's change is approved (same photos)."""
        _ = self.translator(view.channel.language)
        params: dict[str, Any] = {"caption": self._caption(view, _)}
        if len(view.photos) == 1:  # an edit without the markup would drop the button
            params["reply_markup"] = {
                "inline_keyboard": [[_button(_("✍️ Write to the seller"), url=self.link(view.ad.id))]]
            }
        return "editMessageCaption", params

    def seller_updated(self, view: AdView, language: str) -> Call:
        _ = self.translator(language)
        return "sendMessage", {
            "text": _("✅ Your changes to “{title}” are approved: its post in {channel} is updated.").format(
                title=view.ad.title, channel=view.channel.title
            )
        }

    def seller_published(self, view: AdView, language: str) -> Call:
        _ = self.translator(language)
        return "sendMessage", {
            "text": _("✅ Your ad “{title}” is published in {channel}. Here it is:").format(
                title=view.ad.title, channel=view.channel.title
            )
        }

    def seller_rejected(self, view: AdView, language: str, reason: str) -> Call:
        _ = self.translator(language)
        return "sendMessage", {
            "text": _("❌ Your ad “{title}” was not published. Reason: {reason}").format(
                title=view.ad.title, reason=reason
            )
        }

    def checkin(self, view: AdView, language: str, ask_number: int) -> Call:
        _ = self.translator(language)
        ad_id = view.ad.id
        keyboard = [
            [
                _button(_("✅ Sold"), CheckinCb(action="sold", ad_id=ad_id).pack()),
                _button(_("🔄 Still selling"), CheckinCb(action="selling", ad_id=ad_id).pack()),
            ]
        ]
        return "sendMessage", {
            "text": _("Is “{title}” still for sale?").format(title=view.ad.title),
            "reply_markup": {"inline_keyboard": keyboard},
        }

    def seller_expired(self, view: AdView, language: str) -> Call:
        _ = self.translator(language)
        return "sendMessage", {
            "text": _(
                "⌛ Your ad “{title}” is no longer shown: you did not "
                "answer whether it is sold. Post it again any time."
            ).format(title=view.ad.title)
        }
