// Users through @clerk/backend 3.25.0 (clerk.users.*).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  clerk,
  createTestUser,
  expectApiError,
  idPattern,
  sleep,
  strongPassword,
  uniq,
  uniqueEmail,
} from './helpers.mjs';

describe('users', () => {
  test('createUser with email, password, names and metadata', async () => {
    const email = uniqueEmail('create');
    const password = strongPassword();
    const user = await clerk.users.createUser({
      emailAddress: [email],
      password,
      firstName: 'Ada',
      lastName: 'Lovelace',
      publicMetadata: { role: 'admin', nested: { level: 1 } },
      privateMetadata: { internalId: 42 },
      unsafeMetadata: { theme: 'dark' },
    });

    assert.match(user.id, idPattern('user'));
    assert.equal(user.raw.object, 'user');
    assert.equal(user.firstName, 'Ada');
    assert.equal(user.lastName, 'Lovelace');
    assert.equal(user.fullName, 'Ada Lovelace');
    assert.equal(user.passwordEnabled, true);
    assert.equal(user.banned, false);
    assert.equal(user.locked, false);
    assert.equal(user.twoFactorEnabled, false);
    assert.equal(typeof user.createdAt, 'number');
    assert.equal(typeof user.updatedAt, 'number');
    // Timestamps are Unix milliseconds.
    assert.ok(Math.abs(user.createdAt - Date.now()) < 10 * 60 * 1000, `createdAt ${user.createdAt} is not "now" in ms`);

    assert.equal(user.emailAddresses.length, 1);
    const [addr] = user.emailAddresses;
    assert.match(addr.id, idPattern('idn'));
    assert.equal(addr.emailAddress, email);
    assert.equal(addr.verification?.status, 'verified', 'BAPI-created addresses are verified by default');
    assert.equal(user.primaryEmailAddressId, addr.id);
    assert.equal(user.primaryEmailAddress?.emailAddress, email);

    assert.deepEqual(user.publicMetadata, { role: 'admin', nested: { level: 1 } });
    assert.deepEqual(user.privateMetadata, { internalId: 42 });
    assert.deepEqual(user.unsafeMetadata, { theme: 'dark' });
  });

  test('getUser returns the created user', async () => {
    const { user, email } = await createTestUser({ publicMetadata: { a: 1 } });
    const got = await clerk.users.getUser(user.id);
    assert.equal(got.id, user.id);
    assert.equal(got.primaryEmailAddress?.emailAddress, email);
    assert.equal(got.firstName, 'Compat');
    assert.equal(got.lastName, 'Tester');
    assert.deepEqual(got.publicMetadata, { a: 1 });
    assert.equal(got.createdAt, user.createdAt);
  });

  test('getUserList filters by emailAddress and query; getCount agrees', async () => {
    const tag = uniq();
    const emails = [uniqueEmail(`list${tag}a`), uniqueEmail(`list${tag}b`), uniqueEmail(`list${tag}c`)];
    const created = [];
    for (const email of emails) {
      created.push((await createTestUser({ email })).user);
      await sleep(15); // distinct created_at values for the ordering checks
    }

    const byEmail = await clerk.users.getUserList({ emailAddress: [emails[1]] });
    assert.ok(Array.isArray(byEmail.data), 'getUserList returns { data: [...] }');
    assert.deepEqual(
      byEmail.data.map((u) => u.id),
      [created[1].id],
    );
    assert.equal(byEmail.totalCount, 1);

    const byTwoEmails = await clerk.users.getUserList({ emailAddress: [emails[0], emails[2]] });
    assert.deepEqual(new Set(byTwoEmails.data.map((u) => u.id)), new Set([created[0].id, created[2].id]));
    assert.equal(byTwoEmails.totalCount, 2);

    const byQuery = await clerk.users.getUserList({ query: tag });
    assert.deepEqual(new Set(byQuery.data.map((u) => u.id)), new Set(created.map((u) => u.id)));
    assert.equal(byQuery.totalCount, 3);

    assert.equal(await clerk.users.getCount({ query: tag }), 3);
    assert.equal(await clerk.users.getCount({ emailAddress: [emails[0]] }), 1);
    assert.equal(await clerk.users.getCount({ query: `no-such-user-${uniq()}` }), 0);

    const none = await clerk.users.getUserList({ query: `no-such-user-${uniq()}` });
    assert.deepEqual(none.data, []);
    assert.equal(none.totalCount, 0);
  });

  test('getUserList orderBy, limit and offset', async () => {
    const tag = uniq();
    const created = [];
    for (const label of ['a', 'b', 'c']) {
      created.push((await createTestUser({ email: uniqueEmail(`page${tag}${label}`) })).user);
      await sleep(15);
    }
    const ids = created.map((u) => u.id);

    const asc1 = await clerk.users.getUserList({ query: tag, orderBy: '+created_at', limit: 2 });
    assert.deepEqual(asc1.data.map((u) => u.id), ids.slice(0, 2));
    assert.equal(asc1.totalCount, 3, 'totalCount ignores limit/offset');

    const asc2 = await clerk.users.getUserList({ query: tag, orderBy: '+created_at', limit: 2, offset: 2 });
    assert.deepEqual(asc2.data.map((u) => u.id), ids.slice(2));
    assert.equal(asc2.totalCount, 3);

    const desc = await clerk.users.getUserList({ query: tag, orderBy: '-created_at' });
    assert.deepEqual(desc.data.map((u) => u.id), [...ids].reverse());

    // Default order is newest first.
    const dflt = await clerk.users.getUserList({ query: tag });
    assert.deepEqual(dflt.data.map((u) => u.id), [...ids].reverse());

    const tail = await clerk.users.getUserList({ query: tag, orderBy: '-created_at', limit: 1, offset: 1 });
    assert.deepEqual(tail.data.map((u) => u.id), [ids[1]]);
  });

  test('updateUser changes names and externalId', async () => {
    const { user } = await createTestUser();
    const externalId = `ext-${uniq()}`;
    const updated = await clerk.users.updateUser(user.id, {
      firstName: 'Grace',
      lastName: 'Hopper',
      externalId,
    });
    assert.equal(updated.id, user.id);
    assert.equal(updated.firstName, 'Grace');
    assert.equal(updated.lastName, 'Hopper');
    assert.equal(updated.externalId, externalId);
    assert.ok(updated.updatedAt >= user.updatedAt);

    const got = await clerk.users.getUser(user.id);
    assert.equal(got.firstName, 'Grace');
    assert.equal(got.externalId, externalId);

    const byExternal = await clerk.users.getUserList({ externalId: [externalId] });
    assert.deepEqual(byExternal.data.map((u) => u.id), [user.id]);
  });

  test('updateUserMetadata deep-merges and removes keys set to null', async () => {
    const { user } = await createTestUser({
      publicMetadata: { plan: { tier: 'free', seats: 1 }, keep: true, drop: 'me' },
      privateMetadata: { a: 1 },
    });

    const merged = await clerk.users.updateUserMetadata(user.id, {
      publicMetadata: { plan: { tier: 'pro', addons: ['x'] }, drop: null },
      privateMetadata: { b: 2 },
      unsafeMetadata: { u: 'v' },
    });
    assert.deepEqual(merged.publicMetadata, { plan: { tier: 'pro', seats: 1, addons: ['x'] }, keep: true });
    assert.deepEqual(merged.privateMetadata, { a: 1, b: 2 });
    assert.deepEqual(merged.unsafeMetadata, { u: 'v' });

    // A field left out is untouched.
    const again = await clerk.users.updateUserMetadata(user.id, { privateMetadata: { a: null } });
    assert.deepEqual(again.publicMetadata, merged.publicMetadata);
    assert.deepEqual(again.privateMetadata, { b: 2 });

    const got = await clerk.users.getUser(user.id);
    assert.deepEqual(got.publicMetadata, { plan: { tier: 'pro', seats: 1, addons: ['x'] }, keep: true });
    assert.deepEqual(got.privateMetadata, { b: 2 });
  });

  test('banUser / unbanUser', async () => {
    const { user } = await createTestUser();
    const banned = await clerk.users.banUser(user.id);
    assert.equal(banned.id, user.id);
    assert.equal(banned.banned, true);
    assert.equal((await clerk.users.getUser(user.id)).banned, true);

    const unbanned = await clerk.users.unbanUser(user.id);
    assert.equal(unbanned.banned, false);
    assert.equal((await clerk.users.getUser(user.id)).banned, false);
  });

  test('lockUser / unlockUser', async () => {
    const { user } = await createTestUser();
    const locked = await clerk.users.lockUser(user.id);
    assert.equal(locked.id, user.id);
    assert.equal(locked.locked, true);
    assert.equal((await clerk.users.getUser(user.id)).locked, true);

    const unlocked = await clerk.users.unlockUser(user.id);
    assert.equal(unlocked.locked, false);
    assert.equal((await clerk.users.getUser(user.id)).locked, false);
  });

  test('verifyPassword accepts the right password and rejects a wrong one', async () => {
    const { user, password } = await createTestUser();
    const ok = await clerk.users.verifyPassword({ userId: user.id, password });
    assert.deepEqual(ok, { verified: true });

    // bapi.yml: 422 "The provided password was incorrect."
    await expectApiError(clerk.users.verifyPassword({ userId: user.id, password: `${password}-wrong` }), {
      status: 422,
    });
  });

  test('deleteUser returns a deleted object and the user is gone', async () => {
    const { user } = await createTestUser();
    const deleted = await clerk.users.deleteUser(user.id);
    assert.equal(deleted.object, 'user');
    assert.equal(deleted.id, user.id);
    assert.equal(deleted.deleted, true);

    await expectApiError(clerk.users.getUser(user.id), { status: 404, code: 'resource_not_found' });
  });
});
