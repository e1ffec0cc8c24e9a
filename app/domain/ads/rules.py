"""The rules of an ad (M2, M9): reading what a seller typed, the caption, pre-moderation."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_decimal

from app.db import Conn
from app.db.queries import ads as q
from app.db.queries import channels as channel_q
from app.db.queries.channels import Channel
from app.domain.ads.model import MAX_PHOTOS, AdError, Draft, Price
from app.i18n import N_, Gettext

CAPTION_LIMIT = 1024  # Telegram's limit for a photo or album caption
TITLE_LIMIT = 80


# --- parsing what the seller typed ----------------------------------------------------------


def clean_text(text: str | None) -> str:
    """Trim, normalise Unicode (NFC) and squeeze runs of blank lines."""
    value = unicodedata.normalize("NFC", (text or "").strip())
    return re.sub(r"\n{3,}", "\n\n", value)


def parse_title(text: str | None) -> str:
    title = " ".join(clean_text(text).split())
    if not title:
        raise AdError(N_("Please send the title as text."))
    if len(title) > TITLE_LIMIT:
        raise AdError(
            N_("The title is too long: {length} characters, at most {limit}. Please shorten it by {excess}."),
            length=len(title),
            limit=TITLE_LIMIT,
            excess=len(title) - TITLE_LIMIT,
        )
    return title


NEGOTIABLE_WORDS = {
    "negotiable",
    "kelishiladi",
    "kelishamiz",
    "договорная",
    "договорная цена",
    "торг",
    "договоримся",
}
_USD = re.compile(r"(\$|usd|dollar|доллар|у\.е\.?)", re.IGNORECASE)
_UZS = re.compile(r"(so'?m|soʻm|сум|uzs)", re.IGNORECASE)


def parse_price(text: str | None) -> Price:
    """'1 500 000 so'm', '$1200', '1200 usd', '850000', or 'negotiable' in uz/ru/en."""
    raw = clean_text(text).lower()
    if not raw:
        raise AdError(N_("Please send the price as a number, e.g. 1500000 or 1200$."))
    if raw in NEGOTIABLE_WORDS:
        return Price(None, None, True)
    currency = "USD" if _USD.search(raw) else "UZS"
    digits = _UZS.sub("", _USD.sub("", raw)).replace(" ", "").replace("\u00a0", "")
    digits = digits.replace(",", "." if re.fullmatch(r"\d+,\d{1,2}", digits) else "")
    try:
        amount = Decimal(digits)
    except InvalidOperation:
        raise AdError(
            N_(
                "I could not read a price in that. Send a number, e.g. 1500000 or "
                "1200$, or the word “negotiable”."
            )
        ) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e14"):
        raise AdError(N_("That price is out of range. Send a number, e.g. 1500000 or 1200$."))
    return Price(amount.quantize(Decimal("0.01")), currency, False)


def parse_contact(text: str | None) -> str:
    """A phone number or a @username, as the buyer will see it."""
    value = clean_text(text)
    phone = re.sub(r"[\s()-]", "", value)
    if re.fullmatch(r"\+?\d{7,15}", phone):
        return phone if phone.startswith("+") else f"+{phone}"
    if re.fullmatch(r"@?[A-Za-z][A-Za-z0-9_]{4,31}", value):
        return value if value.startswith("@") else f"@{value}"
    raise AdError(
        N_(
            "Send a phone number like +998901234567 or a Telegram @username, "
            "or press the button to share your contact."
        )
    )


# --- how the ad reads in the channel -------------------------------------------------------


def format_price(price: Price, _: Gettext, language: str | None = None) -> str:
    """The price as the reader writes money: digits grouped by the language's rule (Babel;
    without a language, by spaces as in Uzbek and Russian) and the currency's local name."""
    if price.amount is None:
        return _("Negotiable")
    whole = price.amount == price.amount.to_integral_value()
    pattern = "#,##0" if whole else "#,##0.00"
    # Plain spaces rather than Babel's no-break ones: captions and the tests read the same.
    number = format_decimal(price.amount, format=pattern, locale=language or "uz").replace("\xa0", " ")
    if price.currency == "USD":
        text = _("${amount}").format(amount=number)
    else:
        text = _("{amount} UZS").format(amount=number)
    if price.negotiable:
        note = _("negotiable")
        return f"{text} ({note})"
    return text


MARKS = {"sold": ("❌", N_("SOLD")), "expired": ("⌛", N_("NO LONGER CURRENT"))}


def caption(draft: Draft, _: Gettext, *, hashtag: str | None, link: str, mark: str | None = None) -> str:
    """The channel caption: plain text (no parse mode), so nothing a seller types is markup.

    `mark` ("sold" or "expired") puts a notice on top, for the edit of a closed ad's posts, and
    drops the "Write to the seller" link: nobody should write about a closed ad.
    """
    write = _("Write to the seller")
    notice = f"{MARKS[mark][0]} {_(MARKS[mark][1])}" if mark else None
    lines = [
        notice,
        f"📢 {draft.title}",
        f"💰 {format_price(draft.price, _)}" if draft.price else None,
        f"📍 {draft.district}" if draft.district else None,
        f"📞 {draft.contact}" if draft.contact else None,
        "",
        draft.description,
        "",
        f"#{hashtag}" if hashtag else None,
        None if mark else f"✍️ {write}: {link}",
    ]
    return "\n".join(line for line in lines if line is not None).strip()


def caption_excess(draft: Draft, _: Gettext, *, hashtag: str | None, link: str) -> int:
    """How many characters too long the caption is (0 when it fits Telegram's limit).

    Measured with the longest closing mark, so marking the ad sold or expired later can
    never break the caption.
    """
    longest = max(len(caption(draft, _, hashtag=hashtag, link=link, mark=m)) for m in MARKS)
    return max(0, longest - CAPTION_LIMIT)


PLACE_LIMIT = 60
# What the later wizard steps may still add to the caption, reserved when the description
# is measured, so a description accepted early never pushes the finished ad over the limit.
_RESERVE_PRICE = Price(Decimal("999999999"), "USD", False)


def parse_description(text: str | None, title: str, _: Gettext, link: str) -> str:
    """The description, refused (with how much to cut) if the caption could not hold it."""
    description = clean_text(text)
    if not description:
        raise AdError(N_("Please describe the item in a few words."))
    probe = Draft(
        channel_id=0,
        title=title,
        description=description,
        price=_RESERVE_PRICE,
        district="x" * PLACE_LIMIT,
        contact="@" + "x" * 32,
    )
    excess = caption_excess(probe, _, hashtag="x" * 32, link=link)
    if excess:
        raise AdError(
            N_("The description is too long for the channel: please shorten it by {excess} characters."),
            excess=excess,
        )
    return description


def parse_place(text: str | None) -> str:
    place = " ".join(clean_text(text).split())
    if not place or len(place) > PLACE_LIMIT:
        raise AdError(N_("Please send the district in 1 to {limit} characters."), limit=PLACE_LIMIT)
    return place


# --- pre-moderation ------------------------------------------------------------------------


def text_key(title: str, description: str) -> str:
    """Normalised text for spotting the same ad twice: case, punctuation and spacing ignored."""
    folded = unicodedata.normalize("NFKC", f"{title} {description}").casefold()
    return " ".join(re.sub(r"[^\w]+", " ", folded).split())


def banned_found(key: str, banned: Sequence[str]) -> list[str]:
    """Banned words or phrases that appear as whole words in the normalised text."""
    padded = f" {key} "
    return [word for word in banned if f" {text_key(word, '')} " in padded]


def check_complete(draft: Draft) -> None:
    """Everything the wizard asks for is there (the panel's editor is held to it too)."""
    missing = draft.missing()
    if missing:
        raise AdError(N_("The ad is not complete yet: {missing}."), missing=", ".join(missing))
    if len(draft.photos) > MAX_PHOTOS:
        raise AdError(N_("An ad has at most {limit} photos."), limit=MAX_PHOTOS)


Flag = dict[str, Any]  # {"kind": "banned_word", "word": ...}, {"kind": "duplicate_text", "ad_id": ...}, ...


async def premoderate(
    conn: Conn, channel: Channel, seller_id: int, draft: Draft, *, editing: int | None = None
) -> list[Flag]:
    """The reasons an admin should look twice; an ad with flags still reaches the admins.

    `editing` is the ad being changed: it is no duplicate of itself, and an edit is not
    another ad against the daily limit."""
    key = text_key(draft.title, draft.description)
    banned = await channel_q.list_banned_words(conn, channel.id)
    flags: list[Flag] = [{"kind": "banned_word", "word": w} for w in banned_found(key, banned)]
    same_text = await q.live_ad_with_text(conn, channel.id, seller_id, key, editing)
    if same_text is not None:
        flags.append({"kind": "duplicate_text", "ad_id": same_text})
    photo_ids = [p.file_unique_id for p in draft.photos]
    same_photo = await q.live_ad_with_photo(conn, channel.id, seller_id, photo_ids, editing)
    if same_photo is not None:
        flags.append({"kind": "duplicate_photo", "ad_id": same_photo})
    if editing is None:
        today = await q.ads_submitted_since(conn, seller_id, channel.id, hours=24)
        if today >= channel.ads_per_day:
            if channel.over_limit == "refuse":
                raise AdError(
                    N_(
                        "You have posted {limit} ads in this channel in the last 24 hours, "
                        "its limit. Please try again tomorrow; your draft is kept."
                    ),
                    limit=channel.ads_per_day,
                )
            flags.append({"kind": "daily_limit", "count": today + 1, "limit": channel.ads_per_day})
    return flags


def describe_flag(flag: Flag, _: Gettext) -> str:
    kind = flag["kind"]
    if kind == "banned_word":
        return _("banned word: {word}").format(word=flag["word"])
    if kind == "duplicate_text":
        return _("same text as ad #{ad_id}").format(ad_id=flag["ad_id"])
    if kind == "duplicate_photo":
        return _("same photo as ad #{ad_id}").format(ad_id=flag["ad_id"])
    if kind == "daily_limit":
        return _("seller's ad {count} today (limit {limit})").format(count=flag["count"], limit=flag["limit"])
    return str(kind)
