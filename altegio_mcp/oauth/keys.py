"""Keys derived from `ALTEGIO_OAUTH_SECRET`: encryption of stored user tokens, hashing of tokens.

One secret, three independent keys (HKDF-SHA256 with distinct labels):

- an AES-256-GCM key that encrypts each Altegio user token at rest, with the grant (or pending
  sign-in) id as associated data, so a ciphertext copied onto another grant does not decrypt;
- an HMAC-SHA256 key under which access tokens, refresh tokens, codes and logins are stored as
  hashes (a leaked store holds no usable bearer);
- an HMAC key for the sign-in pages' CSRF tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


class UndecryptableSecret(Exception):
    """A stored ciphertext that this secret cannot open (the secret changed, or it was tampered with)."""


def _derive(secret: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"altegio-mcp oauth v1", info=label).derive(secret)


class OAuthKeys:
    """Encrypts, hashes and signs with keys derived from one server secret."""

    def __init__(self, secret: str) -> None:
        raw = secret.encode()
        self._aead = AESGCM(_derive(raw, b"encrypt user tokens"))
        self._hash_key = _derive(raw, b"hash bearer tokens")
        self._csrf_key = _derive(raw, b"csrf")

    def encrypt(self, plaintext: str, bound_to: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), bound_to.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, ciphertext: str, bound_to: str) -> str:
        try:
            raw = base64.urlsafe_b64decode(ciphertext.encode())
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], bound_to.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise UndecryptableSecret("stored secret cannot be decrypted with this key") from exc

    def hash(self, value: str) -> str:
        """The storage key of a bearer value: HMAC-SHA256, hex."""
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

    def csrf(self, *parts: str) -> str:
        message = "\x1f".join(parts).encode()
        return hmac.new(self._csrf_key, message, hashlib.sha256).hexdigest()

    def csrf_ok(self, given: str, *parts: str) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.csrf(*parts).encode())
