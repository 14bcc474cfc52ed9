"""Short-lived signed access tokens (JWT, HS256 via PyJWT).

An access token names its user and its sign-in session, so logging out (revoking the session) ends it at
once, not only after it expires.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import jwt

from lookbook.errors import AuthenticationFailed

ALGORITHM = "HS256"
ISSUER = "lookbook"


@dataclass(frozen=True)
class TokenSettings:
    signing_key: str = field(repr=False)
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=14)


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    session_id: str
    role: str


def encode_access_token(claims: AccessClaims, settings: TokenSettings, *, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    payload = {
        "iss": ISSUER, "typ": "access", "sub": str(claims.user_id), "sid": claims.session_id, "role": claims.role,
        "iat": now, "exp": now + settings.access_ttl, "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, settings.signing_key, algorithm=ALGORITHM)


def decode_access_token(token: str, settings: TokenSettings) -> AccessClaims:
    try:
        payload = jwt.decode(token, settings.signing_key, algorithms=[ALGORITHM], issuer=ISSUER,
                             options={"require": ["exp", "iat", "sub", "sid", "typ"]})
    except jwt.ExpiredSignatureError:
        raise AuthenticationFailed("the access token has expired; refresh it", code="token_expired") from None
    except jwt.InvalidTokenError:
        raise AuthenticationFailed("the access token is not valid", code="token_invalid") from None
    if payload.get("typ") != "access" or not str(payload["sub"]).isdigit():
        raise AuthenticationFailed("the access token is not valid", code="token_invalid")
    return AccessClaims(user_id=int(payload["sub"]), session_id=str(payload["sid"]), role=str(payload.get("role")))
