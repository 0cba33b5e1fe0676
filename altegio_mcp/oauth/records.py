"""What the authorization server keeps in the state store, under `oauth:` keys, as JSON.

    oauth:client:<client_id>          a registered client (its secret encrypted)
    oauth:pending:<id>                an authorization request waiting for sign-in and consent
    oauth:grant:<grant_id>            who signed in, for which client and locations, their
                                      Altegio user token (encrypted, bound to the grant id)
    oauth:code:<hash>                 an authorization code (single use: taken on exchange)
    oauth:code-used:<hash>            a redeemed code; presenting it again revokes its grant
    oauth:access:<hash>               an access token
    oauth:refresh:<hash>              a refresh token (single use: taken on rotation)
    oauth:refresh-used:<hash>         a rotated refresh token; presenting it again revokes its grant
    oauth:lock:<who>                  sign-in locked after repeated failures, until the stored time

Bearer values (codes, tokens) appear only as keyed hashes. Revoking a grant deletes its record,
which every token of that grant is checked against on use.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class AltegioUser(BaseModel):
    """Who signed in, as `POST /auth` reported it (no secrets)."""

    id: int | None = None
    login: str
    name: str | None = None

    def label(self) -> str:
        return f"{self.name} ({self.login})" if self.name else self.login


class LocationChoice(BaseModel):
    id: int
    title: str
    city: str | None = None


class StoredClient(BaseModel):
    """A registered client: the SDK's client information, with the secret encrypted."""

    info: dict[str, object]
    secret: str | None = None


class PendingSignIn(BaseModel):
    """An authorization request between `/authorize` and the consent answer."""

    id: str
    client_id: str
    client_name: str
    redirect_uri: str
    redirect_uri_provided_explicitly: bool
    state: str | None = None
    scopes: list[str]
    code_challenge: str
    resource: str | None = None
    expires_at: float
    user: AltegioUser | None = None
    user_token: str | None = Field(default=None, description="Encrypted, bound to this pending id.")
    locations: list[LocationChoice] = Field(default_factory=list[LocationChoice])
    browser: str | None = Field(default=None, description="Hash of the cookie of the browser that signed in.")


class Grant(BaseModel):
    id: str
    client_id: str
    client_name: str
    user: AltegioUser
    user_token: str = Field(description="Encrypted, bound to the grant id.")
    locations: list[LocationChoice]
    scopes: list[str]
    resource: str | None = None
    created_at: float


class CodeRecord(BaseModel):
    grant_id: str
    client_id: str
    code_challenge: str
    redirect_uri: str
    redirect_uri_provided_explicitly: bool
    scopes: list[str]
    resource: str | None = None
    expires_at: float


class TokenRecord(BaseModel):
    grant_id: str
    client_id: str
    scopes: list[str]
    resource: str | None = None
    expires_at: float
