"""Contract tests: disk storage and S3 storage (a moto server on loopback) behave the same."""

from __future__ import annotations

import asyncio
import contextlib
import os
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiobotocore.session import get_session

from app.storage import (
    InvalidKey,
    NotFound,
    S3Settings,
    Storage,
    StoredObject,
    open_storage,
)

MEDIA_URL_BASE = "https://bozor.example/media/"
ACCESS_KEY = "bozor-test-access"
SECRET_KEY = "bozor-test-secret"

INVALID_KEYS = [
    pytest.param("", id="empty"),
    pytest.param("..", id="dotdot"),
    pytest.param("../escape.jpg", id="dotdot-first"),
    pytest.param("ads/../../escape.jpg", id="dotdot-inside"),
    pytest.param("ads/./photo.jpg", id="dot-part"),
    pytest.param("/etc/passwd", id="leading-slash"),
    pytest.param("ads\\photo.jpg", id="backslash"),
    pytest.param("ads//photo.jpg", id="empty-part"),
    pytest.param("ads/", id="trailing-slash"),
    pytest.param("ads/photo\x00.jpg", id="nul"),
    pytest.param("ads/photo\n.jpg", id="newline"),
    pytest.param("ads/photo\x7f.jpg", id="del"),
    pytest.param("a/" * 256 + "b", id="513-bytes"),
    pytest.param("/".join(["ф" * 100] * 3), id="602-bytes-in-302-chars"),
    pytest.param("x" * 256, id="part-over-255-bytes"),
    pytest.param(".meta/photo.jpg", id="reserved-root"),
    pytest.param("ads/\ud800.jpg", id="lone-surrogate"),
]


@dataclass
class Backend:
    """How to open one storage backend again, and how to see everything it has written."""

    name: str
    open: Callable[[], contextlib.AbstractAsyncContextManager[Storage]]
    written: Callable[[], Awaitable[list[str]]]


def _s3_settings(endpoint: str, bucket: str) -> S3Settings:
    return S3Settings(
        bucket=bucket,
        endpoint_url=endpoint,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region="us-east-1",
    )


@contextlib.asynccontextmanager
async def _raw_s3(endpoint: str) -> AsyncIterator[object]:
    """A plain client, to look at the server from outside our Storage."""
    async with get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    ) as client:
        yield client


async def _bucket_names(endpoint: str) -> list[str]:
    async with _raw_s3(endpoint) as client:
        response = await client.list_buckets()  # type: ignore[attr-defined]
    return [bucket["Name"] for bucket in response["Buckets"]]


async def _bucket_keys(endpoint: str, bucket: str) -> list[str]:
    async with _raw_s3(endpoint) as client:
        response = await client.list_objects_v2(Bucket=bucket)  # type: ignore[attr-defined]
    return sorted(item["Key"] for item in response.get("Contents", []))


def _files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _new_bucket_name() -> str:
    return f"bozor-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def disk_backend(tmp_path: Path) -> Backend:
    media_dir = tmp_path / "media"

    async def written() -> list[str]:
        return _files_under(media_dir)

    return Backend(
        name="disk",
        open=lambda: open_storage(media_dir=media_dir, media_url_base=MEDIA_URL_BASE, s3=None),
        written=written,
    )


@pytest.fixture
def s3_backend(s3_endpoint: str) -> Backend:
    settings = _s3_settings(s3_endpoint, _new_bucket_name())
    return Backend(
        name="s3",
        open=lambda: open_storage(media_dir=Path("/nonexistent"), media_url_base=MEDIA_URL_BASE, s3=settings),
        written=lambda: _bucket_keys(s3_endpoint, settings.bucket),
    )


@pytest.fixture(params=["disk", "s3"])
def backend(request: pytest.FixtureRequest) -> Backend:
    found: Backend = request.getfixturevalue(f"{request.param}_backend")
    return found


@pytest.fixture
async def storage(backend: Backend) -> AsyncIterator[Storage]:
    async with backend.open() as opened:
        yield opened


# --- the contract, run against both backends -------------------------------------------------


async def test_storage_satisfies_the_protocol(storage: Storage) -> None:
    assert isinstance(storage, Storage)


async def test_put_then_get_returns_the_same_bytes_and_content_type(storage: Storage) -> None:
    await storage.put("ads/1/photo.jpg", b"\xff\xd8\xff\xe0 jpeg bytes", "image/jpeg")

    assert await storage.get("ads/1/photo.jpg") == StoredObject(
        data=b"\xff\xd8\xff\xe0 jpeg bytes", content_type="image/jpeg"
    )


async def test_empty_object_round_trips(storage: Storage) -> None:
    await storage.put("empty.txt", b"", "text/plain")

    assert await storage.get("empty.txt") == StoredObject(data=b"", content_type="text/plain")


async def test_overwrite_replaces_bytes_and_content_type(storage: Storage) -> None:
    await storage.put("ads/1/cover", b"first version, quite long", "image/jpeg")
    await storage.put("ads/1/cover", b"second", "image/png")

    assert await storage.get("ads/1/cover") == StoredObject(data=b"second", content_type="image/png")


async def test_get_of_a_missing_key_raises_not_found(storage: Storage) -> None:
    with pytest.raises(NotFound):
        await storage.get("ads/404/nothing-here.jpg")


async def test_not_found_is_a_key_error(storage: Storage) -> None:
    with pytest.raises(KeyError):
        await storage.get("missing")


async def test_delete_removes_the_object(storage: Storage) -> None:
    await storage.put("ads/2/photo.jpg", b"bytes", "image/jpeg")

    await storage.delete("ads/2/photo.jpg")

    with pytest.raises(NotFound):
        await storage.get("ads/2/photo.jpg")


async def test_delete_is_idempotent(storage: Storage, backend: Backend) -> None:
    await storage.put("ads/3/photo.jpg", b"bytes", "image/jpeg")

    await storage.delete("ads/3/photo.jpg")
    await storage.delete("ads/3/photo.jpg")
    await storage.delete("never/stored.jpg")

    with pytest.raises(NotFound):
        await storage.get("ads/3/photo.jpg")
    assert await backend.written() == []


async def test_delete_leaves_other_objects_alone(storage: Storage) -> None:
    await storage.put("ads/4/a.jpg", b"a", "image/jpeg")
    await storage.put("ads/4/b.jpg", b"b", "image/png")

    await storage.delete("ads/4/a.jpg")

    assert await storage.get("ads/4/b.jpg") == StoredObject(data=b"b", content_type="image/png")


@pytest.mark.parametrize("key", INVALID_KEYS)
async def test_invalid_keys_are_refused_by_every_method_and_write_nothing(
    storage: Storage, backend: Backend, key: str
) -> None:
    with pytest.raises(InvalidKey):
        await storage.put(key, b"payload", "text/plain")
    with pytest.raises(InvalidKey):
        await storage.get(key)
    with pytest.raises(InvalidKey):
        await storage.delete(key)
    with pytest.raises(InvalidKey):
        await storage.url(key)

    assert await backend.written() == []


async def test_invalid_key_is_a_value_error(storage: Storage) -> None:
    with pytest.raises(ValueError):
        await storage.put("../x", b"", "text/plain")


@pytest.mark.parametrize("content_type", ["", "text/plain\r\nX-Injected: 1", "text/plain\x00"], ids=repr)
async def test_a_content_type_that_cannot_be_a_header_is_refused(
    storage: Storage, backend: Backend, content_type: str
) -> None:
    with pytest.raises(ValueError):
        await storage.put("notes.txt", b"hello", content_type)

    assert await backend.written() == []


async def test_keys_that_look_like_internals_are_ordinary_objects(storage: Storage) -> None:
    objects = {
        "photo.jpg": StoredObject(b"the photo", "image/jpeg"),
        "photo.jpg.meta": StoredObject(b'{"not": "a sidecar"}', "application/json"),
        "photo.jpg.tmp": StoredObject(b"not a temp file", "text/plain"),
        ".photo.jpg": StoredObject(b"hidden-looking", "text/plain"),
        "sub/.meta": StoredObject(b"meta deeper down", "text/plain"),
        "a..b.jpg": StoredObject(b"two dots inside a name", "image/jpeg"),
    }
    for key, stored in objects.items():
        await storage.put(key, stored.data, stored.content_type)

    for key, stored in objects.items():
        assert await storage.get(key) == stored


async def test_longest_allowed_key_and_unicode_keys_work(storage: Storage) -> None:
    longest = "/".join(["x" * 255, "y" * 255])  # 511 bytes
    unicode_key = "e'lonlar/Toshkent/фото 1 (копия).jpg"

    await storage.put(longest, b"long", "text/plain")
    await storage.put(unicode_key, b"unicode", "image/jpeg")

    assert await storage.get(longest) == StoredObject(b"long", "text/plain")
    assert await storage.get(unicode_key) == StoredObject(b"unicode", "image/jpeg")


async def test_five_megabyte_binary_object_round_trips(storage: Storage) -> None:
    data = os.urandom(5 * 1024 * 1024) + bytes(range(256))

    await storage.put("ads/5/video.mp4", data, "video/mp4")
    got = await storage.get("ads/5/video.mp4")

    assert got.content_type == "video/mp4"
    assert len(got.data) == len(data)
    assert got.data == data


async def test_nested_folders_hold_separate_objects(storage: Storage) -> None:
    keys = ["ads/2024/11/7/a.jpg", "ads/2024/11/7/b.jpg", "ads/2024/12/a.jpg", "ads/a.jpg"]
    for number, key in enumerate(keys):
        await storage.put(key, f"object {number}".encode(), "image/jpeg")

    for number, key in enumerate(keys):
        assert (await storage.get(key)).data == f"object {number}".encode()


async def test_a_folder_emptied_by_delete_can_become_a_key(storage: Storage) -> None:
    await storage.put("drafts/9/photo.jpg", b"draft", "image/jpeg")
    await storage.delete("drafts/9/photo.jpg")

    await storage.put("drafts", b"now a file", "text/plain")

    assert await storage.get("drafts") == StoredObject(b"now a file", "text/plain")
    with pytest.raises(NotFound):
        await storage.get("drafts/9/photo.jpg")


async def test_concurrent_puts_and_deletes_in_one_folder_do_not_fail(storage: Storage) -> None:
    async def churn(number: int) -> None:
        for _ in range(5):
            await storage.put(f"busy/{number}/x.jpg", b"x", "image/jpeg")
            await storage.delete(f"busy/{number}/x.jpg")

    await asyncio.gather(*(churn(number % 3) for number in range(12)))
    await storage.put("busy/0/x.jpg", b"final", "image/jpeg")

    assert (await storage.get("busy/0/x.jpg")).data == b"final"


async def test_objects_survive_closing_and_reopening(backend: Backend) -> None:
    async with backend.open() as first:
        await first.put("kept/photo.jpg", b"still here", "image/webp")

    async with backend.open() as second:
        assert await second.get("kept/photo.jpg") == StoredObject(b"still here", "image/webp")


# --- URLs --------------------------------------------------------------------------------------


async def test_disk_url_is_the_media_base_plus_the_quoted_key(disk_backend: Backend) -> None:
    key = "ads/7/фото 1#?.jpg"
    async with disk_backend.open() as storage:
        await storage.put(key, b"img", "image/jpeg")

        url = await storage.url(key)

    assert url == "https://bozor.example/media/" + urllib.parse.quote(key)
    assert url == "https://bozor.example/media/ads/7/%D1%84%D0%BE%D1%82%D0%BE%201%23%3F.jpg"


async def test_disk_keeps_each_object_as_a_plain_file_under_media_dir(tmp_path: Path) -> None:
    async with open_storage(media_dir=tmp_path, media_url_base="/media", s3=None) as storage:
        await storage.put("ads/8/photo.jpg", b"v1", "image/jpeg")
        await storage.put("ads/8/photo.jpg", b"v2", "image/jpeg")
        await storage.put("ads/8/photo.jpg.meta", b"not a sidecar", "text/plain")

    data_files = [f for f in _files_under(tmp_path) if not f.startswith(".meta/")]
    assert data_files == ["ads/8/photo.jpg", "ads/8/photo.jpg.meta"]  # no temp files left
    assert (tmp_path / "ads/8/photo.jpg").read_bytes() == b"v2"


async def test_s3_url_can_be_fetched_over_http(s3_backend: Backend) -> None:
    key = "ads/7/фото 1+(2).png"
    data = os.urandom(4096)
    async with s3_backend.open() as storage:
        await storage.put(key, data, "image/png")
        url = await storage.url(key)

    async with aiohttp.ClientSession() as http, http.get(url) as response:
        body = await response.read()
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/png"
    assert body == data


# --- S3 bucket life cycle ----------------------------------------------------------------------


async def test_s3_bucket_is_created_on_enter_when_missing(s3_endpoint: str) -> None:
    bucket = _new_bucket_name()
    assert bucket not in await _bucket_names(s3_endpoint)
    settings = _s3_settings(s3_endpoint, bucket)

    async with open_storage(media_dir=Path("/nonexistent"), media_url_base="/", s3=settings) as s:
        assert bucket in await _bucket_names(s3_endpoint)
        await s.put("first.txt", b"hello", "text/plain")

    assert await _bucket_keys(s3_endpoint, bucket) == ["first.txt"]


async def test_s3_bucket_in_another_region_is_created_there(s3_endpoint: str) -> None:
    settings = S3Settings(
        bucket=_new_bucket_name(),
        endpoint_url=s3_endpoint,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region="eu-central-1",
    )

    async with open_storage(media_dir=Path("/nonexistent"), media_url_base="/", s3=settings) as s:
        await s.put("x.txt", b"x", "text/plain")
        assert await s.get("x.txt") == StoredObject(b"x", "text/plain")

    async with _raw_s3(s3_endpoint) as client:
        location = await client.get_bucket_location(Bucket=settings.bucket)  # type: ignore[attr-defined]
    assert location["LocationConstraint"] == "eu-central-1"
