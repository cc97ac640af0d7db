// (b) Sign-up with email + password through clerk-js: the email code comes
// from the real email at the SMTP sink; the session token verifies with the
// instance public key; the session survives a page reload.
import { after, before, describe, test } from 'node:test';

import {
  assert,
  ClerkPage,
  signUpWithEmailCode,
  strongPassword,
  uniqueEmail,
  verifyJwt,
} from './helpers.mjs';

describe('sign-up with email code', () => {
  let s;
  const email = uniqueEmail();
  const password = strongPassword();
  let created; // { userId, sessionId }

  before(async () => {
    s = await ClerkPage.open('signup');
  });
  after(() => s?.close());

  test('create, prepare email_code, attempt with the emailed code, setActive', async () => {
    await s.step('signup', async () => {
      await s.goto();
      await s.load();
      created = await signUpWithEmailCode(s, { email, password });
      const st = await s.state();
      assert.equal(st.email, email, 'clerk.user.primaryEmailAddress.emailAddress');
      assert.equal(st.userId, created.userId, 'clerk.user.id');
      await s.screenshot('signed-up');
    });
  });

  test('session.getToken() is a JWT that verifyToken({ jwtKey }) accepts', async () => {
    assert.ok(created, 'sign-up did not complete');
    await s.step('token', async () => {
      const jwt = await s.run(async (clerk) => clerk.session.getToken());
      assert.match(String(jwt), /^[\w-]+\.[\w-]+\.[\w-]+$/, `getToken() returned ${jwt}`);
      const claims = await verifyJwt(jwt);
      assert.equal(claims.sub, created.userId, 'sub');
      assert.equal(claims.sid, created.sessionId, 'sid');
    });
  });

  test('page.reload() + Clerk.load() keeps the user signed in', async () => {
    assert.ok(created, 'sign-up did not complete');
    await s.step('reload', async () => {
      const st = await s.reload();
      assert.equal(st.userId, created.userId, `clerk.user after reload: ${JSON.stringify(st)}`);
      assert.equal(st.email, email);
      await s.screenshot('after-reload');
    });
  });
});
