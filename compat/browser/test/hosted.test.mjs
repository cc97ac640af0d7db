// (h) Hosted pages: Tessera's /sign-in shell loads the served clerk-js and UI,
// shows <SignIn/>, signs a user in and returns to the app on another origin;
// /user shows that user's profile; a
// redirect_url on an origin the instance does not allow is not passed on.
import { after, before, describe, test } from 'node:test';

import { assert, backend, ClerkPage, env, strongPassword, UI_TIMEOUT, uniqueEmail } from './helpers.mjs';

describe('hosted pages', () => {
  let s;
  const email = uniqueEmail();
  const password = strongPassword();

  before(async () => {
    s = await ClerkPage.open('hosted');
    await backend().users.createUser({ emailAddress: [email], password });
  });
  after(() => s?.close());

  test('/sign-in signs in and returns to the app on another origin', async () => {
    await s.step('sign-in', async () => {
      const back = `${s.origin}/after-sign-in`;
      await s.page.goto(`${env.url}/sign-in?redirect_url=${encodeURIComponent(back)}`, {
        waitUntil: 'load',
        timeout: 30_000,
      });
      const start = s.page.locator('#tessera-page .cl-signIn-start');
      await start.locator('input[name="identifier"]').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('hosted-sign-in');
      await start.locator('input[name="identifier"]').fill(email);
      await start.locator('.cl-formButtonPrimary').click();
      const pw = s.page.locator('#tessera-page .cl-signIn-password');
      await pw.locator('input[name="password"]').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await pw.locator('input[name="password"]').fill(password);
      await pw.locator('.cl-formButtonPrimary').click();
      // Through /v1/client/touch (a first-party cookie again) back to the app.
      await s.page.waitForURL((u) => u.href.startsWith(back), { timeout: UI_TIMEOUT });
      await s.load();
      const st = await s.state();
      assert.ok(st.userId, `the app sees the user signed in: ${JSON.stringify(st)}`);
      assert.deepEqual(s.pageErrors, [], 'uncaught errors in the pages');
    });
  });

  test('/user shows the profile of the signed-in user', async () => {
    await s.step('user', async () => {
      await s.page.goto(`${env.url}/user`, { waitUntil: 'load', timeout: 30_000 });
      await s.page
        .locator('#tessera-page')
        .getByText(email)
        .waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('hosted-user');
    });
  });

  test('a redirect_url on a foreign origin is not passed on', async () => {
    const res = await fetch(`${env.url}/sign-in?redirect_url=${encodeURIComponent('javascript:alert(1)')}`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.ok(!html.includes('javascript:alert'), 'the redirect_url was dropped');
    assert.ok(html.includes('/npm/@clerk/clerk-js@6/dist/clerk.browser.js'), 'the shell loads the served bundle');
  });
});
