"""The `Authorization` header: `Bearer <partner_token>` or `Bearer <partner_token>, User <user_token>`.

The request log records only which form was sent (`AuthKind`), never a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AuthKind = Literal["none", "partner", "partner_user", "malformed"]


@dataclass(frozen=True, slots=True)
class Credentials:
    kind: AuthKind
    partner_token: str | None = None
    user_token: str | None = None


def parse_authorization(header: str | None) -> Credentials:
    if header is None or not header.strip():
        return Credentials("none")
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not rest.strip():
        return Credentials("malformed")
    partner_part, comma, user_part = rest.partition(",")
    partner = partner_part.strip()
    if not partner or " " in partner:
        return Credentials("malformed")
    if not comma:
        return Credentials("partner", partner)
    user_scheme, _, user_token = user_part.strip().partition(" ")
    if user_scheme.lower() != "user" or not user_token.strip():
        return Credentials("malformed", partner)
    return Credentials("partner_user", partner, user_token.strip())
