// (e) The prebuilt components from @clerk/ui, driven like a person would:
// <SignUp/> via clerk.mountSignUp (email, password, the emailed code) and
// <SignIn/> via clerk.mountSignIn (email, then password). Screenshots of each
// screen go to compat/artifacts/browser/.
//
// Selectors, read from @clerk/ui 1.34.0 (dist/*.js sources):
//   card of a step     .cl-<flow>-<part>: .cl-signUp-start, .cl-signUp-emailCode,
//                      .cl-signIn-start, .cl-signIn-password
//   inputs             name = field id: emailAddress, password (sign-up);
//                      identifier, password (sign-in)
//   continue button    .cl-formButtonPrimary (one per card)
//   code input         input[data-input-otp] (one input, 6 digits; the form
//                      submits itself once all digits are in)
import { after, before, describe, test } from 'node:test';

import {
  assert,
  ClerkPage,
  mount,
  signOut,
  strongPassword,
  uniqueEmail,
  unmount,
  waitForCode,
  waitForUser,
  UI_TIMEOUT,
} from './helpers.mjs';

describe('prebuilt components (@clerk/ui)', () => {
  let s;
  const email = uniqueEmail();
  const password = strongPassword();
  let signedUp = false;

  before(async () => {
    s = await ClerkPage.open('components');
  });
  after(() => s?.close());

  test('<SignUp/>: email + password, then the emailed code', async () => {
    let root;
    await s.step('signup-start', async () => {
      await s.goto({ ui: true });
      await s.load({ ui: true });
      root = await mount(s, 'signUp');
      const card = s.page.locator(`${root} .cl-signUp-start`);
      await card.locator('input[name="emailAddress"]').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('signup-1-empty');
      // Optional name fields, when the instance shows them.
      for (const [name, value] of [['firstName', 'Browser'], ['lastName', 'Tester']]) {
        const input = card.locator(`input[name="${name}"]`);
        if (await input.isVisible()) await input.fill(value);
      }
      await card.locator('input[name="emailAddress"]').fill(email);
      await card.locator('input[name="password"]').fill(password);
      await s.screenshot('signup-2-filled');
      await card.locator('.cl-formButtonPrimary').click();
    });
    await s.step('signup-code', async () => {
      const otp = s.page.locator('.cl-signUp-emailCode input[data-input-otp]');
      await otp.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('signup-3-code');
      // The newest email: the card may have asked for a code more than once.
      const code = await waitForCode(email, { latest: true });
      await otp.click();
      await otp.pressSequentially(code, { delay: 60 });
      await waitForUser(s, email);
      await unmount(s, 'signUp', root);
      await s.screenshot('signup-4-done');
      signedUp = true;
    });
  });

  test('<SignIn/>: email, then password', async () => {
    assert.ok(signedUp, 'the <SignUp/> test did not complete');
    await s.step('signin', async () => {
      await signOut(s);
      await s.goto({ ui: true }); // a fresh page: no hash route left from the sign-up
      await s.load({ ui: true });
      const root = await mount(s, 'signIn');
      const start = s.page.locator(`${root} .cl-signIn-start`);
      await start.locator('input[name="identifier"]').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('signin-1-empty');
      await start.locator('input[name="identifier"]').fill(email);
      await start.locator('.cl-formButtonPrimary').click();
      const pw = s.page.locator(`${root} .cl-signIn-password`);
      await pw.locator('input[name="password"]').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await pw.locator('input[name="password"]').fill(password);
      await s.screenshot('signin-2-password');
      await pw.locator('.cl-formButtonPrimary').click();
      await waitForUser(s, email);
      await unmount(s, 'signIn', root);
      await s.screenshot('signin-3-done');
    });
  });
});
