// (r) Session reverification through clerk-js: session.startVerification() /
// attemptFirstFactorVerification() with the password, then the prebuilt
// reverification modal (what useReverification opens before a sensitive
// action) with the authenticator app as the second factor; each leaves a token
// whose fva says the factors are fresh, which @clerk/backend's
// has({ reverification }) reads.
//
// Selectors, read from @clerk/ui 1.34.0 (UserVerification):
//   password card   .cl-userVerification-password input[name="password"], .cl-formButtonPrimary
//   TOTP card       .cl-userVerification-totp2Fa, input labelled "Enter verification code"
import { after, before, describe, test } from 'node:test';

import {
  assert,
  backend,
  ClerkPage,
  env,
  signInWithPassword,
  strongPassword,
  totpCode,
  uniqueEmail,
  UI_TIMEOUT,
} from './helpers.mjs';

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

/** @clerk/backend's auth object for an app request carrying `jwt`. */
async function authOf(jwt) {
  const state = await backend().authenticateRequest(
    new Request('http://127.0.0.1:3000/api/me', {
      headers: { accept: 'application/json', 'sec-fetch-dest': 'empty', authorization: `Bearer ${jwt}` },
    }),
    { jwtKey: env.pem, publishableKey: env.pk },
  );
  return state.toAuth();
}

describe('session reverification (clerk-js and @clerk/ui)', () => {
  let s;
  const email = uniqueEmail();
  const password = strongPassword();
  const secret = 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU';

  before(async () => {
    await backend().users.createUser({ emailAddress: [email], password });
    s = await ClerkPage.open('reverification');
    await s.goto({ ui: true });
    await s.load({ ui: true });
    const si = await signInWithPassword(s, { identifier: email, password });
    assert.equal(si.status, 'complete');
    await s.run(async (clerk, sid) => clerk.setActive({ session: sid }).then(() => null), si.createdSessionId);
  });
  after(() => s?.close());

  test('startVerification and attemptFirstFactorVerification with the password', async () => {
    await s.step('reverify-api', async () => {
      const out = await s.run(async (clerk, pw) => {
        const started = await clerk.session.startVerification({ level: 'first_factor' });
        const factors = started.supportedFirstFactors.map((f) => f.strategy);
        let wrong = null;
        try {
          await clerk.session.attemptFirstFactorVerification({ strategy: 'password', password: 'not it' });
        } catch (e) {
          wrong = e.errors?.[0]?.code;
        }
        const done = await clerk.session.attemptFirstFactorVerification({ strategy: 'password', password: pw });
        return { started: started.status, factors, wrong, done: done.status, jwt: await clerk.session.getToken({ skipCache: true }) };
      }, password);
      assert.equal(out.started, 'needs_first_factor');
      assert.deepEqual(out.factors, ['password', 'email_code']);
      assert.equal(out.wrong, 'form_password_incorrect');
      assert.equal(out.done, 'complete');
      assert.deepEqual(claims(out.jwt).fva, [0, -1]);
      const auth = await authOf(out.jwt);
      assert.equal(auth.has({ reverification: 'strict' }), true);
    });
  });

  test('the reverification modal asks for the authenticator app', async () => {
    const user = (await backend().users.getUserList({ emailAddress: [email] })).data[0];
    await backend().users.updateUser(user.id, { totpSecret: secret });
    await s.step('reverify-modal', async () => {
      await s.run(async (clerk) => {
        await clerk.user.reload();
        window.__reverified = new Promise((resolve, reject) => {
          clerk.__internal_openReverification({
            level: 'second_factor',
            afterVerification: () => resolve('verified'),
            afterVerificationCancelled: () => reject(new Error('cancelled')),
          });
        });
        return null;
      });
      const card = s.page.locator('.cl-card.cl-userVerification-totp2Fa');
      await card.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('reverification-1-totp');
      await card.getByLabel('Enter verification code').pressSequentially(totpCode(secret), { delay: 40 });
      const outcome = await s.run(async () => window.__reverified);
      assert.equal(outcome, 'verified');
      const jwt = await s.run(async (clerk) => clerk.session.getToken({ skipCache: true }));
      const fva = claims(jwt).fva;
      assert.equal(fva[1], 0, `the second factor is fresh: ${JSON.stringify(fva)}`);
      assert.equal((await authOf(jwt)).has({ reverification: 'strict_mfa' }), true);
      const calls = s.requests.filter((r) => r.method === 'POST' && /\/verify(\/|\?|$)/.test(r.url)).map((r) => new URL(r.url).pathname);
      assert.ok(calls.some((p) => p.endsWith('/verify/attempt_second_factor')), calls.join(' '));
    });
  });
});
