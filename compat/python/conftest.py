"""Shared fixtures for the clerk-backend-api (Python) compatibility tests.

compat/run exports TESSERA_API_URL, TESSERA_SECRET_KEY and TESSERA_KEYS_FILE.
Nothing here touches the network at import time, so `pytest --collect-only`
works with the server down.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from typing import Iterator, List

import pytest
from clerk_backend_api import Clerk, models
from clerk_backend_api.utils import BackoffStrategy, RetryConfig

API_URL = os.environ.get("TESSERA_API_URL", "http://127.0.0.1:8080")
SECRET_KEY = os.environ.get("TESSERA_SECRET_KEY", "")

# No retries: a failing call must fail the test at once (the SDK's default
# retries 5XX responses with backoff for up to an hour).
NO_RETRY = RetryConfig("none", BackoffStrategy(1, 1, 1.0, 1), False)


def id_pattern(prefix: str) -> "re.Pattern[str]":
    """Clerk id shape: <prefix>_<27 base62 characters>."""
    return re.compile(rf"^{prefix}_[0-9A-Za-z]{{27}}$")


def uniq() -> str:
    return f"{int(time.time() * 1000):x}{secrets.token_hex(5)}"


def unique_email(label: str = "user") -> str:
    return f"compat-py-{label}-{uniq()}@example.com"


def unique_phone() -> str:
    """A random, valid-looking E.164 North American number (+1 415 NXX XXXX)."""
    return f"+1415{secrets.randbelow(800) + 200}{secrets.randbelow(10000):04d}"


def strong_password() -> str:
    return f"Tsr-{secrets.token_urlsafe(9)}-9x!"


def make_clerk(secret_key: str = SECRET_KEY) -> Clerk:
    return Clerk(
        bearer_auth=secret_key,
        server_url=f"{API_URL}/v1",
        retry_config=NO_RETRY,
        timeout_ms=30_000,
    )


@pytest.fixture(scope="session")
def clerk() -> Iterator[Clerk]:
    with make_clerk() as sdk:
        yield sdk


class UserFactory:
    """Creates users with unique emails and deletes them after the test."""

    def __init__(self, sdk: Clerk) -> None:
        self.sdk = sdk
        self.created: List[str] = []
        self.passwords: dict[str, str] = {}

    def __call__(self, email: str | None = None, **kwargs) -> models.User:
        email = email or unique_email()
        password = kwargs.pop("password", None) or strong_password()
        params = {"first_name": "Compat", "last_name": "Tester", **kwargs}
        user = self.sdk.users.create(email_address=[email], password=password, **params)
        self.created.append(user.id)
        self.passwords[user.id] = password
        return user

    def cleanup(self) -> None:
        for user_id in self.created:
            try:
                self.sdk.users.delete(user_id=user_id)
            except Exception:  # already deleted by the test, or the server is gone
                pass


@pytest.fixture
def make_user(clerk: Clerk) -> Iterator[UserFactory]:
    factory = UserFactory(clerk)
    yield factory
    factory.cleanup()


def keys_file_json() -> dict:
    import json

    path = os.environ.get("TESSERA_KEYS_FILE")
    if not path:
        pytest.fail("TESSERA_KEYS_FILE is not set (compat/run sets it from `tessera keys`)")
    with open(path, encoding="utf-8") as f:
        return json.load(f)
