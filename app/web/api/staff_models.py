"""The staff API's request and response bodies (pydantic: validation, output and the OpenAPI
document's schemas from one declaration)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from app.web.api.models import Model


class StaffMe(Model):
    id: int
    username: str
    display_name: str | None
    role: Literal["admin", "moderator", "operator"]
    channels: list[int] | None = Field(description="The channels you moderate; null: every channel.")


class StaffAd(Model):
    id: int
    title: str
    status: str = Field(description="pending, published, rejected, sold, expired, withdrawn")
    channel_id: int
    channel_title: str
    seller_id: int
    seller_name: str
    seller_username: str | None
    submitted_at: datetime


class StaffAdPage(Model):
    items: list[StaffAd] = Field(description="Newest first.")
    next_after: str | None = Field(description="Pass as `after` for the next page; null: the last page.")


class StaffAdDetail(StaffAd):
    description: str
    price: str | None = Field(description="The number as the seller gave it; null: negotiable only.")
    currency: str | None
    negotiable: bool
    district: str
    contact: str
    flags: list[dict[str, object]] = Field(description="What pre-moderation found to look at.")
    reject_reason: str | None
    decided_at: datetime | None
    published_at: datetime | None
    photos: int


class Reject(Model):
    reason: str | None = Field(default=None, min_length=1, max_length=500, description="A typed reason.")
    reason_id: int | None = Field(default=None, gt=0, description="A canned reason of the ad's channel.")


class Decided(Model):
    id: int
    status: str
    decided_by: str = Field(description="Who decided (you, unless someone else was first: then 409).")


class StaffUser(Model):
    id: int
    first_name: str
    last_name: str | None
    username: str | None
    last_seen: datetime
    blocked_bot: bool = Field(description="The user blocked the bot.")
    banned: bool = Field(description="Blocked by staff.")


class StaffUserPage(Model):
    items: list[StaffUser] = Field(description="Newest accounts first.")
    next_after: int | None = Field(description="Pass as `after` for the next page; null: the last page.")


class StaffUserDetail(StaffUser):
    language: str | None
    first_seen: datetime
    banned_reason: str | None


class StaffChannel(Model):
    id: int
    title: str
    username: str | None
    chat_id: int | None
    language: str
    active: bool


class StaffChannelList(Model):
    items: list[StaffChannel]


class Button(Model):
    text: str = Field(min_length=1, max_length=64)
    url: str = Field(min_length=8, max_length=512, pattern=r"^https?://")


class Segment(Model):
    languages: list[Literal["uz", "ru", "en"]] = Field(default_factory=list, description="Empty: any.")
    seen_days: int | None = Field(default=None, ge=1, le=9999, description="Seen in the last N days.")
    channel_id: int | None = Field(default=None, gt=0, description="Sellers with a live ad in this channel.")
    task_participants: bool = False
    min_balance: int | None = Field(default=None, ge=0, description="Points balance above N.")


class NewBroadcast(Model):
    texts: dict[Literal["default", "uz", "ru", "en"], str] = Field(
        description='"default" is required; a variant per language is optional. <b>, <i>, <a href> allowed.'
    )
    buttons: list[Button] = Field(default_factory=list, max_length=5)
    audience: Segment = Field(default_factory=Segment)


class BroadcastState(Model):
    id: int
    status: Literal["draft", "running", "paused", "done", "cancelled"]
    texts: dict[str, str]
    photo: bool = Field(
        description="It has a photo (uploaded in the panel's composer); the texts are its caption."
    )
    audience: dict[str, object]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    recipients: int | None = Field(description="Fixed at start; for a draft, how many it would reach now.")
    sent: int
    failed: int
    blocked: int
    uncertain: int
    left: int


class DayStatus(Model):
    day: date
    status: str
    ads: int


class ChannelDecisions(Model):
    channel_id: int
    title: str
    decided: int
    p50_minutes: float
    p95_minutes: float


class DayCount(Model):
    day: date
    n: int


class AreaSeries(Model):
    metric: str = Field(
        description="What is counted, e.g. new_users, active_users, messages_in, tickets_opened; "
        "points_rewarded and stars_paid are amounts, not counts."
    )
    data: list[int] = Field(description="One number a day, in the order of `days`.")
    total: int = Field(description="The sum over the range.")


class StatisticsArea(Model):
    id: Literal["users", "messages", "support", "chat", "tasks", "payments", "broadcasts"]
    series: list[AreaSeries]


class Statistics(Model):
    since: date = Field(description="The range's first day (UTC).")
    until: date = Field(description="The range's last day, included.")
    days: list[date] = Field(description="Every day of the range: what each area series' `data` is for.")
    pending: int = Field(description="Ads waiting for a decision now.")
    published: int = Field(description="Ads live now.")
    sold_today: int
    users: int | None = Field(description="Every user (null for moderators, who see their channels only).")
    ads_per_day: list[DayStatus] = Field(description="Ads submitted per day, by their status now.")
    reposts_per_day: list[DayCount] = Field(description="Ads re-posted per day (days without any: absent).")
    decision_times: list[ChannelDecisions] = Field(description="Submit to decision, per channel.")
    areas: list[StatisticsArea] = Field(
        description="The dashboard's areas the token's owner sees: an admin every one; an operator users, "
        "messages, support and chat; a moderator none (their figures are their channels' ads)."
    )
