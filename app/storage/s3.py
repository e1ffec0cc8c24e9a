"""Storage in an S3 (or S3-compatible) bucket through aiobotocore."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import Any

from aiobotocore.client import AioBaseClient
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from app.storage.base import NotFound, StoredObject, check_content_type, check_key

DEFAULT_REGION = "us-east-1"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_MISSING_KEY_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_MISSING_BUCKET_CODES = frozenset({"NoSuchBucket", "404", "NotFound"})
CHECK_SECONDS = 10.0
# What S3 (AWS, MinIO, moto, …) answers to a key it does not know or a secret that does not match.
_BAD_KEY_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
    }
)
_DENIED_CODES = frozenset({"AccessDenied", "AllAccessDisabled", "403", "Forbidden"})
_REGION_CODES = frozenset(
    {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "301"}
)


@dataclass(frozen=True)
class S3Settings:
    """Where the bucket is and how to reach it; None means botocore's default."""

    bucket: str
    endpoint_url: str | None
    access_key: str | None
    secret_key: str | None
    region: str | None


class S3Storage:
    """Objects in one bucket; URLs are presigned GETs."""

    def __init__(self, client: AioBaseClient, bucket: str) -> None:
        self._client: Any = client  # its S3 methods are generated at run time
        self._bucket = bucket

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        check_content_type(content_type)
        await self._client.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)

    async def get(self, key: str) -> StoredObject:
        check_key(key)
        try:
            response = await self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING_KEY_CODES:
                raise NotFound(key) from exc
            raise
        async with response["Body"] as body:
            data = await body.read()
        return StoredObject(data=data, content_type=response.get("ContentType", DEFAULT_CONTENT_TYPE))

    async def delete(self, key: str) -> None:
        check_key(key)
        await self._client.delete_object(Bucket=self._bucket, Key=key)

    async def exists(self, key: str) -> bool:
        check_key(key)
        try:
            await self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING_KEY_CODES:
                return False
            raise
        return True

    async def url(self, key: str, expires: int = 3600) -> str:
        check_key(key)
        url: str = await self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires
        )
        return url

    async def ensure_bucket(self, region: str) -> None:
        """Create the bucket unless it already exists."""
        try:
            await self._client.head_bucket(Bucket=self._bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in _MISSING_BUCKET_CODES:
                raise
        extra: dict[str, Any] = {}
        if region != DEFAULT_REGION:  # us-east-1 rejects an explicit LocationConstraint
            extra["CreateBucketConfiguration"] = {"LocationConstraint": region}
        # Another process may have created it since head_bucket.
        with contextlib.suppress(self._client.exceptions.BucketAlreadyOwnedByYou):
            await self._client.create_bucket(Bucket=self._bucket, **extra)


async def open_s3(stack: contextlib.AsyncExitStack, settings: S3Settings) -> S3Storage:
    """Open a client that closes with stack, make sure the bucket exists, and wrap it."""
    region = settings.region or DEFAULT_REGION
    client = await stack.enter_async_context(
        get_session().create_client(
            "s3",
            region_name=region,
            endpoint_url=settings.endpoint_url,
            aws_access_key_id=settings.access_key,
            aws_secret_access_key=settings.secret_key,
            config=_client_config(),
        )
    )
    storage = S3Storage(client, settings.bucket)
    await storage.ensure_bucket(region)
    return storage


class S3CheckError(Exception):
    """Why a bucket cannot be used. `problem` is one of "unreachable", "keys", "bucket",
    "denied", "region", "other"; `detail` is what the server or the network said."""

    def __init__(self, problem: str, detail: str) -> None:
        super().__init__(f"{problem}: {detail}")
        self.problem = problem
        self.detail = detail


async def check_s3(settings: S3Settings, *, seconds: float = CHECK_SECONDS) -> None:
    """Write and delete a small object the way Bozor will use the bucket; raise S3CheckError
    saying what is wrong. Never creates the bucket: a typo must not make a new one."""
    key = f"bozor-check/{uuid.uuid4().hex}"
    try:
        async with (
            asyncio.timeout(seconds),
            get_session().create_client(
                "s3",
                region_name=settings.region or DEFAULT_REGION,
                endpoint_url=settings.endpoint_url,
                aws_access_key_id=settings.access_key,
                aws_secret_access_key=settings.secret_key,
                config=_client_config(
                    connect_timeout=seconds / 2,
                    read_timeout=seconds / 2,
                    retries={"max_attempts": 1, "mode": "standard"},
                ),
            ) as client,
        ):
            await client.put_object(Bucket=settings.bucket, Key=key, Body=b"bozor", ContentType="text/plain")
            await client.delete_object(Bucket=settings.bucket, Key=key)
    except TimeoutError as exc:
        raise S3CheckError("unreachable", f"no answer within {seconds:.0f} s") from exc
    except (BotoConnectionError, HTTPClientError, OSError) as exc:
        raise S3CheckError("unreachable", str(exc)) from exc
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise S3CheckError("keys", str(exc)) from exc
    except ClientError as exc:
        raise S3CheckError(_problem_of(_error_code(exc)), str(exc)) from exc
    except (BotoCoreError, ValueError) as exc:  # e.g. an endpoint botocore cannot parse
        raise S3CheckError("other", str(exc)) from exc


def _problem_of(code: str) -> str:
    if code in _BAD_KEY_CODES:
        return "keys"
    if code in _MISSING_BUCKET_CODES:
        return "bucket"
    if code in _DENIED_CODES:
        return "denied"
    if code in _REGION_CODES:
        return "region"
    return "other"


def _client_config(**extra: Any) -> AioConfig:
    return AioConfig(
        **extra,
        signature_version="s3v4",
        # Path style, so an endpoint on an IP address or loopback works without wildcard DNS.
        s3={"addressing_style": "path"},
        # botocore >= 1.36 adds CRC checksums by default, which several S3-compatible servers
        # reject; send them only where S3 requires them.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
