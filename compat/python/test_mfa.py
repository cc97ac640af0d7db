"""Authenticator apps (TOTP) and backup codes through clerk-backend-api 7.0.0:
users created with a TOTP secret and backup codes, clerk.users.verify_totp
(right, wrong, replayed, a backup code), and the deletions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time

import pytest
from clerk_backend_api import models
from clerk_backend_api.models import SDKError

# RFC 6238's SHA-1 test secret, base32.
SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def totp(secret: str, at: float | None = None) -> str:
    """The RFC 6238 code of `secret` (SHA-1, 6 digits, 30 s) at `at`."""
    key = base64.b32decode(secret)
    counter = int((time.time() if at is None else at) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def test_rfc_6238_vector():
    assert totp(SECRET, 59) == "287082"


def test_user_created_with_totp_and_backup_codes(clerk, make_user):
    user = make_user(totp_secret=SECRET, backup_codes=["delta1234", "echo5678"])
    assert user.totp_enabled is True
    assert user.backup_code_enabled is True
    assert user.two_factor_enabled is True

    code = totp(SECRET)
    res = clerk.users.verify_totp(user_id=user.id, code=code)
    assert res.verified is True
    assert res.code_type == models.CodeType.TOTP

    # Wrong, and the same step again: 422 (the SDK raises a plain SDKError for 4xx here).
    for bad in ["000000", code]:
        with pytest.raises(SDKError) as exc:
            clerk.users.verify_totp(user_id=user.id, code=bad)
        assert exc.value.status_code == 422

    res = clerk.users.verify_totp(user_id=user.id, code="echo5678")
    assert res.code_type == models.CodeType.BACKUP_CODE
    with pytest.raises(SDKError):
        clerk.users.verify_totp(user_id=user.id, code="echo5678")


def test_deletions(clerk, make_user):
    user = make_user(totp_secret=SECRET, backup_codes=["foxtrot12"])
    assert clerk.users.delete_backup_codes(user_id=user.id).user_id == user.id
    assert clerk.users.get(user_id=user.id).backup_code_enabled is False
    assert clerk.users.delete_totp(user_id=user.id).user_id == user.id
    got = clerk.users.get(user_id=user.id)
    assert got.totp_enabled is False
    assert got.two_factor_enabled is False

    again = clerk.users.update(user_id=user.id, totp_secret=SECRET, backup_codes=["golf3456"])
    assert again.totp_enabled is True and again.backup_code_enabled is True
    assert clerk.users.disable_mfa(user_id=user.id).user_id == user.id
    got = clerk.users.get(user_id=user.id)
    assert (got.totp_enabled, got.backup_code_enabled, got.two_factor_enabled) == (False, False, False)
    with pytest.raises(SDKError) as exc:
        clerk.users.verify_totp(user_id=user.id, code=totp(SECRET))
    assert exc.value.status_code == 400
