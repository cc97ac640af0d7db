// SMS codes as a second factor through clerk-js: the instance takes them
// (PATCH /v1/instance/settings), a user reserves a phone number for them with
// PhoneNumber.setReservedForSecondFactor, and sign-in then stops at
// needs_second_factor until signIn.prepareSecondFactor / attemptSecondFactor;
// the prebuilt <SignIn/> shows its phone-code card (.cl-signIn-phoneCode2Fa).
// The number is one of Clerk's test numbers (+1 XXX 555-01XX), so on this
// development instance the code is 424242 and no SMS is sent.
import { after, before, describe, test } from 'node:test';

import {
  assert,
  backend,
  ClerkPage,
  mount,
  patchSettings,
  signInWithPassword,
  signOut,
  strongPassword,
  typeSignIn,
  UI_TIMEOUT,
  uniqueEmail,
  unmount,
  verifyJwt,
  waitForUser,
} from './helpers.mjs';

const TEST_CODE = '424242';

describe('second factor by SMS code', () => {
  let s;
  const email = uniqueEmail();
  const password = strongPassword();
  const phone = `+120155501${String(Math.floor(Math.random() * 100)).padStart(2, '0')}`;
  let userId;
  let reserved = false;

  before(async () => {
    await patchSettings({ user: { phone_number: { enabled: true, used_for_second_factor: true } } });
    const user = await backend().users.createUser({ emailAddress: [email], phoneNumber: [phone], password });
    userId = user.id;
    s = await ClerkPage.open('second-factor');
    await s.goto();
    await s.load();
  });
  after(async () => {
    await s?.close();
    await patchSettings({ user: { phone_number: { enabled: false, used_for_second_factor: false } } });
  });

  test('setReservedForSecondFactor turns twoFactorEnabled on', async () => {
    await s.step('reserve', async () => {
      const si = await signInWithPassword(s, { identifier: email, password });
      assert.equal(si.status, 'complete', `one factor before reserving: ${JSON.stringify(si)}`);
      const out = await s.run(
        async (clerk, a) => {
          await clerk.setActive({ session: a.sid });
          const before = clerk.user.twoFactorEnabled;
          const number = clerk.user.phoneNumbers[0];
          const updated = await number.setReservedForSecondFactor({ reserved: true });
          await clerk.user.reload();
          return {
            before,
            reserved: updated.reservedForSecondFactor,
            default: updated.defaultSecondFactor,
            after: clerk.user.twoFactorEnabled,
          };
        },
        { sid: si.createdSessionId },
      );
      assert.deepEqual(out, { before: false, reserved: true, default: true, after: true });
      reserved = true;
    });
  });

  test('signIn: password, then prepareSecondFactor / attemptSecondFactor with phone_code', async () => {
    assert.ok(reserved, 'the number was not reserved');
    await s.step('sign-in', async () => {
      await signOut(s);
      const first = await s.run(
        async (clerk, a) => {
          const si = await clerk.client.signIn.create({ identifier: a.email, password: a.password });
          return {
            status: si.status,
            createdSessionId: si.createdSessionId,
            factors: si.supportedSecondFactors,
          };
        },
        { email, password },
      );
      assert.equal(first.status, 'needs_second_factor', JSON.stringify(first));
      assert.equal(first.createdSessionId, null);
      assert.equal(first.factors.length, 1, JSON.stringify(first));
      assert.equal(first.factors[0].strategy, 'phone_code');
      assert.match(first.factors[0].phoneNumberId, /^idn_/);
      assert.ok(first.factors[0].safeIdentifier.endsWith(phone.slice(-4)), JSON.stringify(first));

      const prepared = await s.run(
        async (clerk, a) => {
          const si = await clerk.client.signIn.prepareSecondFactor({ strategy: 'phone_code', phoneNumberId: a.id });
          return { status: si.status, verification: si.secondFactorVerification?.status, strategy: si.secondFactorVerification?.strategy };
        },
        { id: first.factors[0].phoneNumberId },
      );
      assert.deepEqual(prepared, { status: 'needs_second_factor', verification: 'unverified', strategy: 'phone_code' });

      await assert.rejects(
        s.run(async (clerk) => clerk.client.signIn.attemptSecondFactor({ strategy: 'phone_code', code: '000000' })),
        (e) => e.errors?.[0]?.code === 'form_code_incorrect',
      );
      const done = await s.run(
        async (clerk, a) => {
          const si = await clerk.client.signIn.attemptSecondFactor({ strategy: 'phone_code', code: a.code });
          await clerk.setActive({ session: si.createdSessionId });
          return { status: si.status, jwt: await clerk.session.getToken() };
        },
        { code: TEST_CODE },
      );
      assert.equal(done.status, 'complete');
      const claims = await verifyJwt(done.jwt);
      assert.equal(claims.sub, userId);
      assert.deepEqual(claims.fva, [0, 0], 'both factors verified just now');
    });
  });

  test('<SignIn/>: email, password, then the phone code card', async () => {
    assert.ok(reserved, 'the number was not reserved');
    await s.step('component', async () => {
      await signOut(s);
      await s.goto({ ui: true });
      await s.load({ ui: true });
      const root = await mount(s, 'signIn');
      await typeSignIn(s, root, { identifier: email, password });
      const otp = s.page.locator(`${root} .cl-signIn-phoneCode2Fa input[data-input-otp]`);
      await otp.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('second-factor-1-code');
      await otp.click();
      await otp.pressSequentially(TEST_CODE, { delay: 60 });
      await waitForUser(s, email);
      await unmount(s, 'signIn', root);
      await s.screenshot('second-factor-2-done');
    });
  });
});
