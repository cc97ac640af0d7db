// (h) Hosted pages: Tessera's /sign-in shell loads the served clerk-js and UI,
// shows <SignIn/> and signs a user in; /user shows that user's profile; a
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

  test('/sign-in shows <SignIn/> from the served bundles and signs in', async () => {
    await s.step('sign-in', async () => {
      await s.page.goto(`${env.url}/sign-in`, { waitUntil: 'load', timeout: 30_000 });
      const start = s.page.locator('#tessera-page .cl-signIn-start');
      await start.locator('input[name="identifier"]').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('hosted-sign-in');
      await start.locator('input[name="identifier"]').fill(email);
      await start.locator('.cl-formButtonPrimary').click();
      const pw = s.page.locator('#tessera-page .cl-signIn-password');
      await pw.locator('input[name="password"]').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await pw.locator('input[name="password"]').fill(password);
      await pw.locator('.cl-formButtonPrimary').click();
      // Signed in, clerk-js leaves the page for the after-sign-in URL.
      await s.page.waitForURL((u) => !u.pathname.startsWith('/sign-in'), { timeout: UI_TIMEOUT });
      const { data } = await backend().sessions.getSessionList({ status: 'active' });
      assert.ok(data.some((x) => x.userId), 'an active session exists');
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
