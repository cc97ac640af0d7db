// (c) Sign-in through clerk-js: with password, with an emailed code
// (prepareFirstFactor/attemptFirstFactor), and a wrong password's error code.
import { after, before, describe, test } from 'node:test';

import {
  assert,
  ClerkPage,
  signInWithPassword,
  signOut,
  signUpWithEmailCode,
  strongPassword,
  uniqueEmail,
  waitForCode,
} from './helpers.mjs';

describe('sign-in', () => {
  let s;
  const email = uniqueEmail();
  const password = strongPassword();
  let user; // { userId }

  before(async () => {
    s = await ClerkPage.open('signin');
    await s.goto();
    await s.load();
  });
  after(() => s?.close());

  test('a user signed up in this browser', async () => {
    await s.step('signup', async () => {
      user = await signUpWithEmailCode(s, { email, password });
    });
  });

  test('signOut(), then signIn.create({ identifier, password }) completes', async () => {
    assert.ok(user, 'sign-up did not complete');
    await s.step('password', async () => {
      await signOut(s);
      const si = await signInWithPassword(s, { identifier: email, password });
      assert.equal(si.status, 'complete', `sign-in: ${JSON.stringify(si)}`);
      assert.match(String(si.createdSessionId), /^sess_/);
      await s.run(async (clerk, a) => clerk.setActive({ session: a.sid }).then(() => null), { sid: si.createdSessionId });
      const st = await s.state();
      assert.equal(st.userId, user.userId, 'clerk.user.id');
      assert.equal(st.email, email);
    });
  });

  test('signIn with email_code: prepareFirstFactor, code from the email, attemptFirstFactor', async () => {
    assert.ok(user, 'sign-up did not complete');
    await s.step('email-code', async () => {
      await signOut(s);
      const first = await s.run(
        async (clerk, a) => {
          const si = await clerk.client.signIn.create({ identifier: a.email });
          const factor = si.supportedFirstFactors?.find((f) => f.strategy === 'email_code');
          return {
            status: si.status,
            factors: (si.supportedFirstFactors ?? []).map((f) => f.strategy),
            emailAddressId: factor?.emailAddressId ?? null,
          };
        },
        { email },
      );
      assert.equal(first.status, 'needs_first_factor', `sign-in after create: ${JSON.stringify(first)}`);
      assert.match(String(first.emailAddressId), /^idn_/, `email_code factor: ${JSON.stringify(first)}`);
      await s.run(
        async (clerk, a) =>
          clerk.client.signIn
            .prepareFirstFactor({ strategy: 'email_code', emailAddressId: a.id })
            .then((si) => si.status),
        { id: first.emailAddressId },
      );
      const code = await waitForCode(email);
      const done = await s.run(
        async (clerk, a) => {
          const si = await clerk.client.signIn.attemptFirstFactor({ strategy: 'email_code', code: a.code });
          return { status: si.status, createdSessionId: si.createdSessionId };
        },
        { code },
      );
      assert.equal(done.status, 'complete', `sign-in after attempt: ${JSON.stringify(done)}`);
      await s.run(async (clerk, a) => clerk.setActive({ session: a.sid }).then(() => null), { sid: done.createdSessionId });
      assert.equal((await s.state()).userId, user.userId);
    });
  });

  test('a wrong password fails with form_password_incorrect', async () => {
    assert.ok(user, 'sign-up did not complete');
    await s.step('wrong-password', async () => {
      await signOut(s);
      let caught;
      try {
        await signInWithPassword(s, { identifier: email, password: `${password}-wrong` });
      } catch (err) {
        caught = err;
      }
      assert.ok(caught, 'sign-in with a wrong password succeeded');
      assert.equal(caught.errors?.[0]?.code, 'form_password_incorrect', caught.message);
      assert.equal((await s.state()).userId, null);
    });
  });
});
