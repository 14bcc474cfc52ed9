"""Account services: register, log in, rotate refresh tokens, log out, keep a customer's details.

Plain functions with keyword-only arguments; the caller owns the transaction (``session``), except where a
function says otherwise.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lookbook.accounts.models import Address, AuthSession, RefreshToken, User
from lookbook.accounts.passwords import check_strength, hash_password, needs_rehash, verify_password
from lookbook.accounts.roles import HOME, Role
from lookbook.accounts.tokens import AccessClaims, TokenSettings, decode_access_token, encode_access_token
from lookbook.db import Database
from lookbook.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound

PROFILE_FIELDS = ("name", "phone", "email_preferences")
ADDRESS_FIELDS = ("label", "recipient", "line1", "line2", "city", "postal_code", "region", "country", "notes")


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds until the access token expires
    user: User

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def home(self) -> str:
        return HOME[Role(self.user.role)]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(session: Session, *, email: str, password: str, name: str, role: Role = Role.CUSTOMER) -> User:
    """Create an account; the email must be new."""
    check_strength(password)
    email = normalise_email(email)
    if len(email) > 254:  # lower-casing can lengthen an address ("İ" becomes two characters)
        raise InvalidInput("the email address is too long", code="invalid_input",
                           fields={"email": ["at most 254 characters"]})
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("an account with this email already exists", code="email_taken",
                       fields={"email": ["already registered"]})
    user = User(email=email, password_hash=hash_password(password), role=str(role), name=name.strip())
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # registered by a concurrent request between the check and the insert
        raise Conflict("an account with this email already exists", code="email_taken",
                       fields={"email": ["already registered"]}) from None
    return user


def authenticate(session: Session, *, email: str, password: str) -> User:
    """The user with this email and password; the same error for an unknown email and a wrong password."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if not verify_password(user.password_hash if user else None, password):
        raise AuthenticationFailed("email or password is wrong", code="invalid_credentials")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def check_current_password(user: User, password: str) -> None:
    """Changing a password needs the current one (a stolen access token alone must not take the account)."""
    if not verify_password(user.password_hash, password):
        raise InvalidInput("the current password is wrong", code="wrong_password",
                           fields={"current_password": ["is wrong"]})


def _new_refresh_token(session: Session, session_id: str, settings: TokenSettings) -> str:
    token = secrets.token_urlsafe(32)
    session.add(RefreshToken(session_id=session_id, token_hash=_digest(token), expires_at=_now() + settings.refresh_ttl))
    return token


def _pair(user: User, session_id: str, refresh_token: str, settings: TokenSettings) -> TokenPair:
    access = encode_access_token(AccessClaims(user.id, session_id, user.role), settings)
    return TokenPair(access, refresh_token, int(settings.access_ttl.total_seconds()), user)


def open_session(session: Session, *, user: User) -> str:
    """A new sign-in of this user (revocable); its id names it in tokens or in a browser's session cookie."""
    auth_session = AuthSession(id=uuid.uuid4().hex, user_id=user.id)
    session.add(auth_session)
    session.flush()
    return auth_session.id


def start_session(session: Session, *, user: User, settings: TokenSettings) -> TokenPair:
    """Sign a user in: a new session (token family) with its first refresh token."""
    session_id = open_session(session, user=user)
    return _pair(user, session_id, _new_refresh_token(session, session_id, settings), settings)


def refresh_session(db: Database, *, refresh_token: str, settings: TokenSettings) -> TokenPair:
    """Trade a refresh token for a new pair. Each refresh token works once; a second use means it was stolen,
    so the whole family is revoked.

    Owns its transactions: the revocation must be committed even though the call then fails.
    """
    with db.session() as session:
        row = session.execute(
            select(RefreshToken, AuthSession, User)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .join(User, User.id == AuthSession.user_id)
            .where(RefreshToken.token_hash == _digest(refresh_token))
        ).first()
        if row is None:
            raise AuthenticationFailed("the refresh token is not valid", code="token_invalid")
        token, auth_session, user = row
        if auth_session.revoked_at is not None:
            raise AuthenticationFailed("this sign-in has ended; log in again", code="session_revoked")
        if token.expires_at <= _now():
            raise AuthenticationFailed("the refresh token has expired; log in again", code="token_expired")
        # Claim the token with one conditional update, so two concurrent uses cannot both succeed.
        claimed = session.execute(
            update(RefreshToken).where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None)).values(used_at=_now())
        ).rowcount
        if claimed == 1:
            return _pair(user, auth_session.id, _new_refresh_token(session, auth_session.id, settings), settings)
    with db.session() as session:
        revoke_session(session, session_id=auth_session.id, reason="refresh_token_reused")
    raise AuthenticationFailed("this refresh token was already used; every sign-in of this family has ended",
                               code="token_reused")


def revoke_session(session: Session, *, session_id: str, reason: str = "logout") -> None:
    session.execute(
        update(AuthSession).where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=_now(), revoked_reason=reason)
    )


def user_for_access_token(session: Session, *, token: str, settings: TokenSettings) -> tuple[User, str]:
    """The signed-in user and session id behind an access token; fails for revoked sessions and deleted users."""
    claims = decode_access_token(token, settings)
    return user_for_session(session, user_id=claims.user_id, session_id=claims.session_id), claims.session_id


def user_for_session(session: Session, *, user_id: int, session_id: str) -> User:
    """The user of a sign-in that has not ended; fails for revoked sessions and deleted users."""
    row = session.execute(
        select(User, AuthSession.revoked_at).join(AuthSession, AuthSession.user_id == User.id)
        .where(AuthSession.id == session_id, User.id == user_id)
    ).first()
    if row is None:
        raise AuthenticationFailed("the access token is not valid", code="token_invalid")
    user, revoked_at = row
    if revoked_at is not None:
        raise AuthenticationFailed("this sign-in has ended; log in again", code="session_revoked")
    return user


def update_profile(session: Session, *, user: User, changes: dict) -> User:
    """Correct a user's own details; unknown keys are ignored by the caller's schema, not here."""
    for key in PROFILE_FIELDS:
        if key in changes:
            value = changes[key]
            if key == "email_preferences":
                value = {**user.email_preferences, **value}
            setattr(user, key, value)
    if "password" in changes:
        check_strength(changes["password"])
        user.password_hash = hash_password(changes["password"])
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, *, user: User, password: str) -> User:
    """Give an account a new password (an operator's reset, e.g. the demo set-up); every sign-in made with the
    old one ends."""
    check_strength(password)
    user.password_hash = hash_password(password)
    session.add(user)
    session.execute(
        update(AuthSession).where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=_now(), revoked_reason="password_reset")
    )
    session.flush()
    return user


def delete_user(session: Session, *, user_id: int) -> None:
    """Delete an account and everything personal it holds (addresses, sessions) for good."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}", code="user_not_found")
    session.delete(user)
    session.flush()


def get_customer(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.role != Role.CUSTOMER:
        raise NotFound(f"no customer with id {user_id}", code="customer_not_found")
    return user


def list_customers(session: Session, *, page: int, per_page: int, text: str | None = None) -> tuple[list[User], int]:
    query = select(User).where(User.role == str(Role.CUSTOMER))
    if text:
        query = query.where(or_(User.email.icontains(text, autoescape=True), User.name.icontains(text, autoescape=True)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    users = session.scalars(query.order_by(User.id).offset((page - 1) * per_page).limit(per_page)).all()
    return list(users), int(total)


def list_addresses(session: Session, *, user_id: int) -> list[Address]:
    return list(session.scalars(select(Address).where(Address.user_id == user_id).order_by(Address.id)))


def _own_address(session: Session, user_id: int, address_id: int) -> Address:
    address = session.get(Address, address_id)
    if address is None or address.user_id != user_id:  # someone else's address looks like a missing one
        raise NotFound(f"no address with id {address_id}", code="address_not_found")
    return address


def add_address(session: Session, *, user_id: int, fields: dict) -> Address:
    address = Address(user_id=user_id, **{k: v for k, v in fields.items() if k in ADDRESS_FIELDS})
    address.country = address.country.upper()
    session.add(address)
    session.flush()
    return address


def update_address(session: Session, *, user_id: int, address_id: int, changes: dict) -> Address:
    address = _own_address(session, user_id, address_id)
    for key in ADDRESS_FIELDS:
        if key in changes:
            setattr(address, key, changes[key].upper() if key == "country" else changes[key])
    session.flush()
    return address


def delete_address(session: Session, *, user_id: int, address_id: int) -> None:
    session.delete(_own_address(session, user_id, address_id))
    session.flush()
