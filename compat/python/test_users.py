"""Users through clerk-backend-api 7.0.0 (clerk.users.*)."""

from __future__ import annotations

import time

import pytest
from clerk_backend_api import models

from conftest import id_pattern, make_clerk, strong_password, uniq, unique_email


def test_create_user_with_email_password_names_metadata(clerk, make_user):
    email = unique_email("create")
    user = make_user(
        email,
        first_name="Ada",
        last_name="Lovelace",
        public_metadata={"role": "admin", "nested": {"level": 1}},
        private_metadata={"internal_id": 42},
        unsafe_metadata={"theme": "dark"},
    )
    assert isinstance(user, models.User)
    assert id_pattern("user").match(user.id)
    assert user.object == models.UserObject.USER
    assert user.first_name == "Ada"
    assert user.last_name == "Lovelace"
    assert user.password_enabled is True
    assert user.banned is False
    assert user.locked is False
    assert user.two_factor_enabled is False
    # Unix milliseconds
    assert abs(user.created_at - int(time.time() * 1000)) < 10 * 60 * 1000
    assert isinstance(user.updated_at, int)

    assert len(user.email_addresses) == 1
    addr = user.email_addresses[0]
    assert isinstance(addr, models.EmailAddress)
    assert id_pattern("idn").match(addr.id)
    assert addr.email_address == email
    assert addr.verification is not None
    assert addr.verification.status.value == "verified"
    assert user.primary_email_address_id == addr.id

    assert user.public_metadata == {"role": "admin", "nested": {"level": 1}}
    assert user.private_metadata == {"internal_id": 42}
    assert user.unsafe_metadata == {"theme": "dark"}


def test_get_user(clerk, make_user):
    email = unique_email("get")
    user = make_user(email, public_metadata={"a": 1})
    got = clerk.users.get(user_id=user.id)
    assert got.id == user.id
    assert got.first_name == "Compat"
    assert got.last_name == "Tester"
    assert got.public_metadata == {"a": 1}
    assert got.created_at == user.created_at
    assert [e.email_address for e in got.email_addresses] == [email]


def test_list_filters_and_count(clerk, make_user):
    tag = uniq()
    emails = [unique_email(f"list{tag}{c}") for c in "abc"]
    users = []
    for email in emails:
        users.append(make_user(email))
        time.sleep(0.015)  # distinct created_at values
    ids = [u.id for u in users]

    by_email = clerk.users.list(request={"email_address": [emails[1]]})
    assert [u.id for u in by_email] == [ids[1]]
    assert all(isinstance(u, models.User) for u in by_email)

    by_two = clerk.users.list(request={"email_address": [emails[0], emails[2]]})
    assert {u.id for u in by_two} == {ids[0], ids[2]}

    by_query = clerk.users.list(request={"query": tag})
    assert {u.id for u in by_query} == set(ids)

    count = clerk.users.count(request={"query": tag})
    assert isinstance(count, models.TotalCount)
    assert count.object == models.TotalCountObject.TOTAL_COUNT
    assert count.total_count == 3
    assert clerk.users.count(request={"email_address": [emails[0]]}).total_count == 1
    assert clerk.users.count(request={"query": f"no-such-user-{uniq()}"}).total_count == 0
    assert clerk.users.list(request={"query": f"no-such-user-{uniq()}"}) == []


def test_list_order_limit_offset(clerk, make_user):
    tag = uniq()
    users = []
    for c in "abc":
        users.append(make_user(unique_email(f"page{tag}{c}")))
        time.sleep(0.015)
    ids = [u.id for u in users]

    page1 = clerk.users.list(request={"query": tag, "order_by": "+created_at", "limit": 2, "offset": 0})
    assert [u.id for u in page1] == ids[:2]
    page2 = clerk.users.list(request={"query": tag, "order_by": "+created_at", "limit": 2, "offset": 2})
    assert [u.id for u in page2] == ids[2:]
    desc = clerk.users.list(request={"query": tag, "order_by": "-created_at"})
    assert [u.id for u in desc] == ids[::-1]
    # The SDK's defaults: limit=10, offset=0, order_by=-created_at
    default = clerk.users.list(request={"query": tag})
    assert [u.id for u in default] == ids[::-1]


def test_update_user(clerk, make_user):
    user = make_user()
    external_id = f"ext-{uniq()}"
    updated = clerk.users.update(user_id=user.id, first_name="Grace", last_name="Hopper", external_id=external_id)
    assert updated.id == user.id
    assert updated.first_name == "Grace"
    assert updated.last_name == "Hopper"
    assert updated.external_id == external_id
    assert updated.updated_at >= user.updated_at
    got = clerk.users.get(user_id=user.id)
    assert got.first_name == "Grace"
    assert got.external_id == external_id
    assert [u.id for u in clerk.users.list(request={"external_id": [external_id]})] == [user.id]


def test_update_metadata_deep_merge(clerk, make_user):
    user = make_user(
        public_metadata={"plan": {"tier": "free", "seats": 1}, "keep": True},
        private_metadata={"a": 1},
    )
    merged = clerk.users.update_metadata(
        user_id=user.id,
        public_metadata={"plan": {"tier": "pro", "addons": ["x"]}},
        private_metadata={"b": 2},
        unsafe_metadata={"u": "v"},
    )
    assert isinstance(merged, models.User)
    assert merged.public_metadata == {"plan": {"tier": "pro", "seats": 1, "addons": ["x"]}, "keep": True}
    assert merged.private_metadata == {"a": 1, "b": 2}
    assert merged.unsafe_metadata == {"u": "v"}

    # A key set to null is removed; a field left out is untouched.
    again = clerk.users.update_metadata(user_id=user.id, public_metadata={"keep": None})
    assert again.public_metadata == {"plan": {"tier": "pro", "seats": 1, "addons": ["x"]}}
    assert again.private_metadata == {"a": 1, "b": 2}

    got = clerk.users.get(user_id=user.id)
    assert got.public_metadata == again.public_metadata
    assert got.private_metadata == {"a": 1, "b": 2}


def test_ban_unban(clerk, make_user):
    user = make_user()
    banned = clerk.users.ban(user_id=user.id)
    assert isinstance(banned, models.User)
    assert banned.banned is True
    assert clerk.users.get(user_id=user.id).banned is True
    unbanned = clerk.users.unban(user_id=user.id)
    assert unbanned.banned is False
    assert clerk.users.get(user_id=user.id).banned is False


def test_lock_unlock(clerk, make_user):
    user = make_user()
    locked = clerk.users.lock(user_id=user.id)
    assert isinstance(locked, models.User)
    assert locked.locked is True
    assert clerk.users.get(user_id=user.id).locked is True
    unlocked = clerk.users.unlock(user_id=user.id)
    assert unlocked.locked is False
    assert clerk.users.get(user_id=user.id).locked is False


def test_verify_password(clerk, make_user):
    password = strong_password()
    user = make_user(password=password)
    ok = clerk.users.verify_password(user_id=user.id, password=password)
    assert isinstance(ok, models.VerifyPasswordResponseBody)
    assert ok.verified is True

    # bapi.yml: 422 "The provided password was incorrect." The 7.0.0 SDK maps
    # 400/404/422 of this operation to SDKError (no typed error body).
    with pytest.raises(models.SDKError) as exc:
        clerk.users.verify_password(user_id=user.id, password=password + "-wrong")
    assert exc.value.status_code == 422


def test_delete_user(clerk, make_user):
    user = make_user()
    deleted = clerk.users.delete(user_id=user.id)
    assert isinstance(deleted, models.DeletedObject)
    assert deleted.object == "user"
    assert deleted.id == user.id
    assert deleted.deleted is True
    with pytest.raises(models.ClerkErrors) as exc:
        clerk.users.get(user_id=user.id)
    assert exc.value.status_code == 404
    assert exc.value.data.errors[0].code == "resource_not_found"


def test_duplicate_email_is_422_form_identifier_exists(clerk, make_user):
    email = unique_email("dup")
    make_user(email)
    with pytest.raises(models.ClerkErrors) as exc:
        make_user(email)
    assert exc.value.status_code == 422
    err = exc.value.data.errors[0]
    assert isinstance(err, models.ClerkError)
    assert err.code == "form_identifier_exists"
    assert err.message
    assert isinstance(err.long_message, str)


def test_get_missing_user_is_404_resource_not_found(clerk):
    with pytest.raises(models.ClerkErrors) as exc:
        clerk.users.get(user_id="user_2zzzzzzzzzzzzzzzzzzzzzzzzzz")
    assert exc.value.status_code == 404
    assert exc.value.data.errors[0].code == "resource_not_found"


def test_wrong_secret_key_is_401():
    with make_clerk("sk_test_thisKeyIsNotTheInstanceKey000000") as intruder:
        with pytest.raises(models.ClerkErrors) as exc:
            intruder.users.list()
    assert exc.value.status_code == 401
