// (m) Authenticator apps and backup codes through clerk-js: enrol with
// user.createTOTP() / verifyTOTP() (codes computed here from the secret), sign
// out, sign in with password + TOTP, then with a backup code (used twice: the
// second time refused); the prebuilt <SignIn/> completes with a TOTP code; and
// <UserProfile/>'s security page adds an authenticator app (QR shown) and
// regenerates backup codes by clicking.
//
// Selectors, read from @clerk/ui 1.34.0:
//   sign-in TOTP card    .cl-signIn-totp2Fa, input labelled "Enter verification code"
//                        (one input; it submits itself at 6 digits)
//   profile              nav "Security", button "Add two-step verification", menu item
//                        "Authenticator application", .cl-qrCodeContainer svg, link
//                        "Can’t scan QR code?" (two read-only inputs: secret, URI),
//                        "Continue", "Finish"; a row's "Open menu" → "Regenerate"
import { after, before, describe, test } from 'node:test';

import {
  assert,
  backend,
  ClerkPage,
  mount,
  press,
  signInWithPassword,
  signOut,
  strongPassword,
  totpCode,
  typeSignIn,
  uniqueEmail,
  UI_TIMEOUT,
  waitForUser,
} from './helpers.mjs';

/** Signs in with a password and stops at the second factor; the sign-in's state. */
function passwordFirst(s, email, password) {
  return s.run(
    async (clerk, a) => {
      const si = await clerk.client.signIn.create({ identifier: a.email, password: a.password });
      return { status: si.status, factors: (si.supportedSecondFactors ?? []).map((f) => f.strategy) };
    },
    { email, password },
  );
}

/** attemptSecondFactor, then setActive; the sign-in status, or the error code. */
function secondFactor(s, strategy, code) {
  return s.run(
    async (clerk, a) => {
      try {
        const si = await clerk.client.signIn.attemptSecondFactor({ strategy: a.strategy, code: a.code });
        if (si.status === 'complete') await clerk.setActive({ session: si.createdSessionId });
        return { status: si.status, strategy: si.secondFactorVerification?.strategy };
      } catch (e) {
        return { error: e.errors?.[0]?.code ?? String(e) };
      }
    },
    { strategy, code },
  );
}

describe('authenticator apps and backup codes (clerk-js and @clerk/ui)', () => {
  let s;
  const password = strongPassword();

  before(async () => {
    s = await ClerkPage.open('totp');
  });
  after(() => s?.close());

  test('createTOTP / verifyTOTP, then sign-ins with a TOTP code and a backup code', async () => {
    const email = uniqueEmail();
    await backend().users.createUser({ emailAddress: [email], password });
    let secret;
    let backupCodes;
    await s.step('totp-enrol', async () => {
      await s.goto();
      await s.load();
      const si = await signInWithPassword(s, { identifier: email, password });
      assert.equal(si.status, 'complete');
      await s.run(async (clerk, sid) => clerk.setActive({ session: sid }).then(() => null), si.createdSessionId);
      const created = await s.run(async (clerk) => {
        const t = await clerk.user.createTOTP();
        return { secret: t.secret, uri: t.uri, verified: t.verified };
      });
      assert.equal(created.verified, false);
      assert.match(created.uri, /^otpauth:\/\/totp\/.+\?secret=[A-Z2-7]+&/);
      secret = created.secret;
      const verified = await s.run(
        async (clerk, code) => {
          const t = await clerk.user.verifyTOTP({ code });
          return { verified: t.verified, backupCodes: t.backupCodes, totpEnabled: clerk.user.totpEnabled, twoFactor: clerk.user.twoFactorEnabled };
        },
        totpCode(secret),
      );
      assert.equal(verified.verified, true);
      assert.equal(verified.totpEnabled, true);
      assert.equal(verified.twoFactor, true);
      assert.equal(verified.backupCodes.length, 10);
      backupCodes = verified.backupCodes;
      await signOut(s);
    });

    await s.step('totp-sign-in', async () => {
      const first = await passwordFirst(s, email, password);
      assert.equal(first.status, 'needs_second_factor');
      assert.deepEqual(first.factors, ['totp', 'backup_code']);
      assert.deepEqual(await secondFactor(s, 'totp', '000000'), { error: 'form_code_incorrect' });
      // The enrolment spent this step's code: the next step's is within the skew.
      const done = await secondFactor(s, 'totp', totpCode(secret, 1));
      assert.deepEqual(done, { status: 'complete', strategy: 'totp' });
      await waitForUser(s, email);
      await signOut(s);
    });

    await s.step('backup-code-sign-in', async () => {
      await passwordFirst(s, email, password);
      assert.deepEqual(await secondFactor(s, 'backup_code', backupCodes[0]), { status: 'complete', strategy: 'backup_code' });
      await waitForUser(s, email);
      await signOut(s);
      await passwordFirst(s, email, password);
      assert.deepEqual(await secondFactor(s, 'backup_code', backupCodes[0]), { error: 'form_code_incorrect' }, 'a backup code works once');
      assert.equal((await secondFactor(s, 'backup_code', backupCodes[1])).status, 'complete');
      await signOut(s);
    });
  });

  test('<SignIn/>: email, password, then the authenticator app card', async () => {
    const email = uniqueEmail();
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    await backend().users.createUser({ emailAddress: [email], password, totpSecret: secret });
    await s.step('totp-component', async () => {
      await s.goto({ ui: true });
      await s.load({ ui: true });
      const root = await mount(s, 'signIn');
      await typeSignIn(s, root, { identifier: email, password });
      const card = s.page.locator(`${root} .cl-card.cl-signIn-totp2Fa`);
      await card.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('totp-1-sign-in-card');
      await card.getByLabel('Enter verification code').pressSequentially(totpCode(secret), { delay: 40 });
      await waitForUser(s, email);
      await s.screenshot('totp-2-signed-in');
      await signOut(s);
    });
  });

  test("<UserProfile/>: add an authenticator app, then regenerate backup codes", async () => {
    const email = uniqueEmail();
    await backend().users.createUser({ emailAddress: [email], password });
    await s.step('profile-totp', async () => {
      await s.goto({ ui: true });
      await s.load({ ui: true });
      const si = await signInWithPassword(s, { identifier: email, password });
      await s.run(async (clerk, sid) => clerk.setActive({ session: sid }).then(() => null), si.createdSessionId);
      const root = await s.run(async (clerk) => {
        const div = document.createElement('div');
        div.id = `mount-profile-${Date.now()}`;
        document.getElementById('mount').replaceChildren(div);
        clerk.mountUserProfile(div, { routing: 'hash' });
        return `#${div.id}`;
      });
      const profile = s.page.locator(root);
      await profile.getByRole('button', { name: 'Security' }).first().click({ timeout: UI_TIMEOUT });
      await profile.getByRole('button', { name: 'Add two-step verification' }).click({ timeout: UI_TIMEOUT });
      await s.page.getByRole('menuitem', { name: 'Authenticator application' }).click({ timeout: UI_TIMEOUT });
      await profile.locator('.cl-qrCodeContainer svg').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('totp-3-profile-qr');
      await press(profile.getByRole('button', { name: /scan QR code\?/ }));
      const secret = await profile.locator('input[readonly]').first().inputValue();
      assert.match(secret, /^[A-Z2-7]{32}$/);
      await press(profile.getByRole('button', { name: 'Continue' }));
      await profile.getByLabel('Enter verification code').pressSequentially(totpCode(secret), { delay: 40 });
      await profile.getByRole('button', { name: 'Finish' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('totp-4-profile-backup-codes');
      await press(profile.getByRole('button', { name: 'Finish' }));
      await profile.getByRole('button', { name: 'Finish' }).waitFor({ state: 'hidden', timeout: UI_TIMEOUT });
      await s.page.waitForFunction(() => window.Clerk?.user?.totpEnabled === true && window.Clerk?.user?.backupCodeEnabled === true, null, {
        timeout: UI_TIMEOUT,
      });
      await profile.getByText('Authenticator application').first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('totp-5-profile-enabled');
    });

    await s.step('profile-backup-codes', async () => {
      const profile = s.page.locator('#mount');
      const before = s.requests.length;
      const row = profile.locator('.cl-profileSectionItem__mfa').filter({ hasText: 'Backup codes' });
      await row.getByRole('button', { name: 'Open menu' }).click({ timeout: UI_TIMEOUT });
      await s.page.getByRole('menuitem', { name: 'Regenerate' }).click({ timeout: UI_TIMEOUT });
      await profile.getByRole('button', { name: 'Finish' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('totp-6-profile-regenerated');
      const posted = s.requests.slice(before).some((r) => r.method === 'POST' && r.url.includes('/v1/me/backup_codes'));
      assert.ok(posted, 'the profile asked for new backup codes');
      await press(profile.getByRole('button', { name: 'Finish' }));
    });
  });
});
