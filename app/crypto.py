"""Keys derived from SECRET_KEY, secrets encrypted at rest, and slow salted password hashes.

Every key is derived with HKDF-SHA256 under its own `info`, so the session cookie key and the
key of stored secrets are unrelated even though both come from the one SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SESSION_INFO = b"bozor/panel-session-cookie/v1"
SECRETS_INFO = b"bozor/settings-secrets/v1"

# scrypt: n=2**14, r=8, p=1 needs 16 MiB and ~50 ms; the parameters are stored with each hash.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32


class SecretError(ValueError):
    """A ciphertext could not be decrypted: wrong SECRET_KEY or damaged data."""


def derive_key(secret_key: str, info: bytes, length: int = 32) -> bytes:
    """A key for one purpose, from SECRET_KEY (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(
        secret_key.encode("utf-8")
    )


def fernet_for(secret_key: str, info: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive_key(secret_key, info)))


def session_fernet(secret_key: str) -> Fernet:
    """The key of the panel's encrypted session cookie."""
    return fernet_for(secret_key, SESSION_INFO)


def encrypt_secret(secret_key: str, plaintext: str) -> str:
    """Fernet (AES-128-CBC + HMAC-SHA256) ciphertext of a secret, as ASCII text."""
    return fernet_for(secret_key, SECRETS_INFO).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt_secret(secret_key: str, ciphertext: str) -> str:
    try:
        return fernet_for(secret_key, SECRETS_INFO).decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise SecretError("cannot decrypt the stored secret: was SECRET_KEY changed?") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """`scrypt$n$r$p$salt$hash`: the parameters travel with the hash, so they can be raised later."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 1024 * 1024, dklen=HASH_BYTES
    )
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str | None) -> bool:
    """Constant-time check of a password against a stored hash; a malformed hash never matches."""
    if not encoded:
        return False
    try:
        scheme, n, r, p, salt, expected = encoded.split("$")
        if scheme != "scrypt":
            return False
        n_, r_, p_ = int(n), int(r), int(p)
        digest = hashlib.scrypt(
            password.encode("utf-8"),
            salt=_unb64(salt),
            n=n_,
            r=r_,
            p=p_,
            maxmem=256 * n_ * r_ + 1024 * 1024,
            dklen=len(_unb64(expected)),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, _unb64(expected))


def needs_rehash(encoded: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    try:
        _, n, r, p, _, _ = encoded.split("$")
        return int(n) < SCRYPT_N or int(r) < SCRYPT_R or int(p) < SCRYPT_P
    except ValueError:
        return True


def new_token() -> str:
    """A URL-safe random token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """What the database keeps of a one-time token: its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).digest()
