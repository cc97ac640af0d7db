"""Email addresses and phone numbers through clerk-backend-api 7.0.0
(clerk.email_addresses.* and clerk.phone_numbers.*)."""

from __future__ import annotations

import pytest
from clerk_backend_api import models

from conftest import id_pattern, unique_email, unique_phone


def _status(verification) -> str | None:
    return None if verification is None else str(getattr(verification.status, "value", verification.status))


def test_email_address_create_get_update_delete(clerk, make_user):
    first_email = unique_email("first")
    user = make_user(first_email)
    email = unique_email("second")

    created = clerk.email_addresses.create(
        request={"user_id": user.id, "email_address": email, "verified": True, "primary": False}
    )
    assert isinstance(created, models.EmailAddress)
    assert created.object == "email_address"
    assert id_pattern("idn").match(created.id)
    assert created.email_address == email
    assert created.reserved is False
    assert _status(created.verification) == "verified"
    assert isinstance(created.linked_to, list)

    got = clerk.email_addresses.get(email_address_id=created.id)
    assert got.id == created.id
    assert got.email_address == email

    u = clerk.users.get(user_id=user.id)
    assert {e.email_address for e in u.email_addresses} == {first_email, email}
    first_id = u.primary_email_address_id
    assert first_id != created.id

    updated = clerk.email_addresses.update(email_address_id=created.id, primary=True)
    assert isinstance(updated, models.EmailAddress)
    assert updated.id == created.id
    assert clerk.users.get(user_id=user.id).primary_email_address_id == created.id

    deleted = clerk.email_addresses.delete(email_address_id=first_id)
    assert isinstance(deleted, models.DeletedObject)
    assert deleted.object == "email_address"
    assert deleted.id == first_id
    assert deleted.deleted is True
    with pytest.raises(models.ClerkErrors) as exc:
        clerk.email_addresses.get(email_address_id=first_id)
    assert exc.value.status_code == 404
    assert [e.id for e in clerk.users.get(user_id=user.id).email_addresses] == [created.id]


def test_email_address_unverified_then_verified(clerk, make_user):
    user = make_user()
    created = clerk.email_addresses.create(
        request={"user_id": user.id, "email_address": unique_email("unverified"), "verified": False}
    )
    assert _status(created.verification) != "verified"
    updated = clerk.email_addresses.update(email_address_id=created.id, verified=True)
    assert _status(updated.verification) == "verified"


def test_email_address_verified_by_code_from_the_backend(clerk, make_user):
    # A Clerk test address: development instances accept the code 424242 for it.
    user = make_user()
    address = f"{unique_email('bver').split('@')[0]}+clerk_test@example.com"
    created = clerk.email_addresses.create(request={"user_id": user.id, "email_address": address, "verified": False})
    prepared = clerk.email_addresses.prepare_verification(email_address_id=created.id)
    assert id_pattern("ver").match(prepared.id)
    assert prepared.status == "unverified"
    assert prepared.strategy == "email_code"
    wrong = clerk.email_addresses.attempt_verification(
        email_address_id=created.id, verification_id=prepared.id, code="000000"
    )
    assert (wrong.status, wrong.attempts) == ("unverified", 1)
    right = clerk.email_addresses.attempt_verification(
        email_address_id=created.id, verification_id=prepared.id, code="424242"
    )
    assert right.status == "verified"
    assert _status(clerk.email_addresses.get(email_address_id=created.id).verification) == "verified"
    with pytest.raises(models.ClerkErrors) as exc:
        clerk.email_addresses.attempt_verification(
            email_address_id=created.id, verification_id=prepared.id, code="424242"
        )
    assert exc.value.data.errors[0].code == "verification_already_verified"


def test_phone_number_create_get_update_delete(clerk, make_user):
    user = make_user()
    phone1, phone2 = unique_phone(), unique_phone()

    first = clerk.phone_numbers.create(
        request={"user_id": user.id, "phone_number": phone1, "verified": True, "primary": True}
    )
    assert isinstance(first, models.PhoneNumber)
    assert first.object == "phone_number"
    assert id_pattern("idn").match(first.id)
    assert first.phone_number == phone1
    assert first.reserved is False
    assert first.reserved_for_second_factor is False
    assert _status(first.verification) == "verified"

    got = clerk.phone_numbers.get(phone_number_id=first.id)
    assert got.id == first.id
    assert got.phone_number == phone1
    assert clerk.users.get(user_id=user.id).primary_phone_number_id == first.id

    second = clerk.phone_numbers.create(request={"user_id": user.id, "phone_number": phone2, "verified": False})
    assert _status(second.verification) != "verified"
    verified = clerk.phone_numbers.update(phone_number_id=second.id, verified=True)
    assert isinstance(verified, models.PhoneNumber)
    assert _status(verified.verification) == "verified"
    clerk.phone_numbers.update(phone_number_id=second.id, primary=True)
    u = clerk.users.get(user_id=user.id)
    assert u.primary_phone_number_id == second.id
    assert len(u.phone_numbers) == 2

    deleted = clerk.phone_numbers.delete(phone_number_id=first.id)
    assert isinstance(deleted, models.DeletedObject)
    assert deleted.object == "phone_number"
    assert deleted.id == first.id
    assert deleted.deleted is True
    with pytest.raises(models.ClerkErrors) as exc:
        clerk.phone_numbers.get(phone_number_id=first.id)
    assert exc.value.status_code == 404
    assert [p.id for p in clerk.users.get(user_id=user.id).phone_numbers] == [second.id]


def test_get_missing_email_address_and_phone_number_is_404(clerk):
    with pytest.raises(models.ClerkErrors) as exc:
        clerk.email_addresses.get(email_address_id="idn_2zzzzzzzzzzzzzzzzzzzzzzzzzz")
    assert exc.value.status_code == 404
    assert exc.value.data.errors[0].code == "resource_not_found"
    with pytest.raises(models.ClerkErrors) as exc:
        clerk.phone_numbers.get(phone_number_id="idn_2zzzzzzzzzzzzzzzzzzzzzzzzzz")
    assert exc.value.status_code == 404
    assert exc.value.data.errors[0].code == "resource_not_found"
