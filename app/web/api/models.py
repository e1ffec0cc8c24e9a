"""The JSON API's request and response bodies. These pydantic models validate what comes in,
shape what goes out, and generate the OpenAPI document's schemas: one source, no drift."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Model):
    code: str = Field(
        description="Stable and machine-readable: unauthorized, not_found, invalid, refused, csrf…"
    )
    message: str = Field(description="For people, in the account's language.")


class Error(Model):
    error: ErrorDetail


class Me(Model):
    id: int
    display_name: str
    username: str | None
    telegram_linked: bool
    language: Literal["uz", "ru", "en"] | None
    unread: int = Field(description="Unread messages in all conversations.")


class AdCard(Model):
    id: int
    title: str
    price: str = Field(description="As shown to people, e.g. 1 500 000 so'm.")
    status: str = Field(description="published, sold, expired, withdrawn…")
    sold: bool


class ConversationItem(Model):
    id: int
    peer_name: str
    ad_id: int | None
    ad_title: str | None
    ad_status: str | None
    last_message_id: int
    last_message: str | None
    last_at: datetime | None
    unread: int


class ConversationList(Model):
    items: list[ConversationItem]


class Conversation(Model):
    id: int
    peer_name: str
    last_read_id: int = Field(description="Your read mark: messages up to this id are read.")
    peer_read_id: int = Field(description="The other side's read mark (read receipts).")
    last_message_id: int
    blocked: bool = Field(description="One of you blocked the other: no one can write.")
    ad: AdCard | None


class Message(Model):
    id: int
    conversation_id: int
    sender_id: int
    body: str
    photo: bool = Field(description="The message has a photo: GET /chat/photos/{id} with a session.")
    via: Literal["web", "telegram", "api"]
    client_id: str | None
    created_at: datetime


class MessagePage(Model):
    items: list[Message] = Field(description="Oldest first.")
    next_before: int | None = Field(
        description="Pass as `before` for the page of older messages; null: none."
    )


class SendMessage(Model):
    body: str = Field(min_length=1, max_length=4096)
    client_id: str | None = Field(
        default=None,
        max_length=64,
        description="Your idempotency key: sending again with the same key returns the same message.",
    )


class MarkRead(Model):
    upto: int = Field(gt=0, description="The id of the last message read.")


class ReadMark(Model):
    last_read_id: int


class MyAd(Model):
    id: int
    title: str
    status: str
    shown_count: int = Field(description="How many times the ad was re-posted in its channel.")
    closable: bool = Field(description="May still be marked sold or withdrawn.")


class MyAds(Model):
    items: list[MyAd]


class Closed(Model):
    id: int
    status: str
