// Email addresses and phone numbers through @clerk/backend 3.25.0
// (clerk.emailAddresses.* and clerk.phoneNumbers.*).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { clerk, createTestUser, expectApiError, idPattern, uniquePhone, uniqueEmail } from './helpers.mjs';

describe('email addresses', () => {
  test('create, get, make primary, delete', async () => {
    const { user, email: firstEmail } = await createTestUser();
    const email = uniqueEmail('second');

    const created = await clerk.emailAddresses.createEmailAddress({
      userId: user.id,
      emailAddress: email,
      verified: true,
      primary: false,
    });
    assert.match(created.id, idPattern('idn'));
    assert.equal(created.emailAddress, email);
    assert.equal(created.verification?.status, 'verified');
    assert.ok(Array.isArray(created.linkedTo));

    const got = await clerk.emailAddresses.getEmailAddress(created.id);
    assert.equal(got.id, created.id);
    assert.equal(got.emailAddress, email);

    let u = await clerk.users.getUser(user.id);
    assert.deepEqual(new Set(u.emailAddresses.map((e) => e.emailAddress)), new Set([firstEmail, email]));
    assert.equal(u.primaryEmailAddress?.emailAddress, firstEmail);

    const updated = await clerk.emailAddresses.updateEmailAddress(created.id, { primary: true });
    assert.equal(updated.id, created.id);
    u = await clerk.users.getUser(user.id);
    assert.equal(u.primaryEmailAddressId, created.id);

    // The former primary address is now an ordinary one and can go.
    const old = u.emailAddresses.find((e) => e.emailAddress === firstEmail);
    const deleted = await clerk.emailAddresses.deleteEmailAddress(old.id);
    assert.equal(deleted.object, 'email_address');
    assert.equal(deleted.id, old.id);
    assert.equal(deleted.deleted, true);
    await expectApiError(clerk.emailAddresses.getEmailAddress(old.id), { status: 404 });

    u = await clerk.users.getUser(user.id);
    assert.deepEqual(u.emailAddresses.map((e) => e.id), [created.id]);
  });

  test('an unverified address can be verified by update', async () => {
    const { user } = await createTestUser();
    const created = await clerk.emailAddresses.createEmailAddress({
      userId: user.id,
      emailAddress: uniqueEmail('unverified'),
      verified: false,
    });
    assert.notEqual(created.verification?.status, 'verified');
    const updated = await clerk.emailAddresses.updateEmailAddress(created.id, { verified: true });
    assert.equal(updated.verification?.status, 'verified');
  });

  test('an address held by another user cannot be added (form_identifier_exists)', async () => {
    const { email } = await createTestUser();
    const { user: other } = await createTestUser();
    // bapi.yml documents both 409 (Conflict) and 422 for this operation.
    await expectApiError(clerk.emailAddresses.createEmailAddress({ userId: other.id, emailAddress: email, verified: true }), {
      status: (s) => s === 422 || s === 409,
      code: 'form_identifier_exists',
    });
  });
});

describe('phone numbers', () => {
  test('create, get, verify, make primary, delete', async () => {
    const { user } = await createTestUser();
    const phone1 = uniquePhone();
    const phone2 = uniquePhone();

    const first = await clerk.phoneNumbers.createPhoneNumber({
      userId: user.id,
      phoneNumber: phone1,
      verified: true,
      primary: true,
    });
    assert.match(first.id, idPattern('idn'));
    assert.equal(first.phoneNumber, phone1);
    assert.equal(first.verification?.status, 'verified');
    assert.equal(first.reservedForSecondFactor, false);
    assert.ok(Array.isArray(first.linkedTo));

    const got = await clerk.phoneNumbers.getPhoneNumber(first.id);
    assert.equal(got.id, first.id);
    assert.equal(got.phoneNumber, phone1);

    let u = await clerk.users.getUser(user.id);
    assert.equal(u.primaryPhoneNumberId, first.id);
    assert.equal(u.primaryPhoneNumber?.phoneNumber, phone1);

    const second = await clerk.phoneNumbers.createPhoneNumber({
      userId: user.id,
      phoneNumber: phone2,
      verified: false,
    });
    assert.notEqual(second.verification?.status, 'verified');
    const verified = await clerk.phoneNumbers.updatePhoneNumber(second.id, { verified: true });
    assert.equal(verified.verification?.status, 'verified');
    await clerk.phoneNumbers.updatePhoneNumber(second.id, { primary: true });
    u = await clerk.users.getUser(user.id);
    assert.equal(u.primaryPhoneNumberId, second.id);
    assert.equal(u.phoneNumbers.length, 2);

    const deleted = await clerk.phoneNumbers.deletePhoneNumber(first.id);
    assert.equal(deleted.object, 'phone_number');
    assert.equal(deleted.id, first.id);
    assert.equal(deleted.deleted, true);
    await expectApiError(clerk.phoneNumbers.getPhoneNumber(first.id), { status: 404 });

    u = await clerk.users.getUser(user.id);
    assert.deepEqual(u.phoneNumbers.map((p) => p.id), [second.id]);
  });

  test('a number held by another user cannot be added (422 form_identifier_exists)', async () => {
    const { user } = await createTestUser();
    const phone = uniquePhone();
    await clerk.phoneNumbers.createPhoneNumber({ userId: user.id, phoneNumber: phone, verified: true });
    const { user: other } = await createTestUser();
    await expectApiError(clerk.phoneNumbers.createPhoneNumber({ userId: other.id, phoneNumber: phone, verified: true }), {
      status: 422,
      code: 'form_identifier_exists',
    });
  });
});
