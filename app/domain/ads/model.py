"""An ad as the seller writes it (Draft), its statuses as people read them, and its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.db.queries.ads import Ad, AdPhoto, AdStatus
from app.i18n import N_, Gettext, UserError

MAX_PHOTOS = 10
CURRENCIES = ("UZS", "USD")

# One label table for every reader: the seller's "My ads", the panel's lists and charts.
STATUS_LABELS: dict[AdStatus, str] = {
    AdStatus.PENDING: N_("Waiting for review"),
    AdStatus.PUBLISHED: N_("Published"),
    AdStatus.REJECTED: N_("Rejected"),
    AdStatus.SOLD: N_("Sold"),
    AdStatus.EXPIRED: N_("Expired"),
    AdStatus.WITHDRAWN: N_("Withdrawn"),
}
STATUS_ICONS: dict[AdStatus, str] = {
    AdStatus.PENDING: "⏳",
    AdStatus.PUBLISHED: "✅",
    AdStatus.REJECTED: "❌",
    AdStatus.SOLD: "💰",
    AdStatus.EXPIRED: "⌛",
    AdStatus.WITHDRAWN: "🗑",
}
EDITABLE = (AdStatus.PENDING, AdStatus.PUBLISHED, AdStatus.REJECTED)  # a seller may change these
CLOSABLE = (AdStatus.PUBLISHED, AdStatus.PENDING)  # a seller may mark these sold or withdraw them


def status_label(status: AdStatus, _: Gettext) -> str:
    return _(STATUS_LABELS[status])


# An ad's parts a seller answers in the wizard (and may change in an edit), as readers name them.
FIELD_LABELS: dict[str, str] = {
    "category": N_("category"),
    "title": N_("title"),
    "description": N_("description"),
    "price": N_("price"),
    "photos": N_("photos"),
    "district": N_("district"),
    "contact": N_("contact"),
}


def field_names(fields: list[str], _: Gettext) -> str:
    """ "title, price" in the reader's language."""
    return ", ".join(_(FIELD_LABELS[f]) if f in FIELD_LABELS else f for f in fields)


class AdError(UserError):
    """Input a seller or an admin must correct, or an action that cannot be done."""


class AdNotFound(AdError):
    """No such ad (or, to someone who may not see it, as good as none)."""

    def __init__(self) -> None:
        super().__init__(N_("This ad no longer exists."))


class NotAllowed(AdError):
    """The actor may not do this to this ad."""


@dataclass(frozen=True, slots=True)
class Photo:
    file_id: str
    file_unique_id: str
    storage_key: str | None = None


@dataclass(frozen=True, slots=True)
class Price:
    amount: Decimal | None  # None: negotiable only
    currency: str | None
    negotiable: bool


@dataclass(slots=True)
class Draft:
    """An ad being written; kept in the seller's FSM data between steps."""

    channel_id: int
    category_id: int | None = None
    title: str = ""
    description: str = ""
    price: Price | None = None
    district: str = ""
    contact: str = ""
    photos: list[Photo] = field(default_factory=list)

    def to_data(self) -> dict[str, Any]:
        """Plain JSON for the FSM storage, where the draft survives restarts."""
        price = self.price
        return {
            "channel_id": self.channel_id,
            "category_id": self.category_id,
            "title": self.title,
            "description": self.description,
            "district": self.district,
            "contact": self.contact,
            "price": None
            if price is None
            else {
                "amount": None if price.amount is None else str(price.amount),
                "currency": price.currency,
                "negotiable": price.negotiable,
            },
            "photos": [[p.file_id, p.file_unique_id, p.storage_key] for p in self.photos],
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Draft:
        price = data.get("price")
        return cls(
            channel_id=data["channel_id"],
            category_id=data.get("category_id"),
            title=data.get("title", ""),
            description=data.get("description", ""),
            district=data.get("district", ""),
            contact=data.get("contact", ""),
            price=None
            if price is None
            else Price(
                None if price["amount"] is None else Decimal(price["amount"]),
                price["currency"],
                price["negotiable"],
            ),
            photos=[Photo(*p) for p in data.get("photos", [])],
        )

    @classmethod
    def of(cls, ad: Ad, photos: list[AdPhoto]) -> Draft:
        """A stored ad in the shape the caption and the editor work with."""
        return cls(
            channel_id=ad.channel_id,
            category_id=ad.category_id,
            title=ad.title,
            description=ad.description,
            price=Price(ad.price, ad.currency, ad.negotiable),
            district=ad.district,
            contact=ad.contact,
            photos=[Photo(p.file_id, p.file_unique_id, p.storage_key) for p in photos],
        )

    def missing(self) -> list[str]:
        """The fields the wizard asks for that are still empty."""
        fields = (
            ("title", self.title),
            ("description", self.description),
            ("price", self.price),
            ("district", self.district),
            ("contact", self.contact),
            ("photos", self.photos),
        )
        return [name for name, value in fields if not value]
