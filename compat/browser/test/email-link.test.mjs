// (l) Email links through clerk-js: signIn.createEmailLinkFlow() waits while
// the emailed link is opened — in a second tab of the same browser, where
// clerk.handleEmailLinkVerification() activates the new session, and on
// another device, where it reports "verified on another device" and the
// waiting tab completes; the prebuilt <SignIn/> and <SignUp/> complete by an
// email link too, and signUp / emailAddress link flows verify addresses.
//
// Selectors, read from @clerk/ui 1.34.0: the waiting card .cl-signIn-emailLinkVerify
// ("Check your email"); "Use another method" → a .cl-alternativeMethodsBlockButton
// reading "Email link to …".
import { after, before, describe, test } from 'node:test';

import {
  assert,
  backend,
  ClerkPage,
  mount,
  patchSettings,
  strongPassword,
  typeSignIn,
  UI_TIMEOUT,
  uniqueEmail,
  waitForEmail,
  waitForUser,
} from './helpers.mjs';

/** The sign-in link of the next email to `to`. */
async function linkFor(to) {
  const msg = await waitForEmail(to);
  const m = `${msg.text ?? ''} ${msg.html ?? ''}`.replace(/=\r?\n/g, '').match(/https?:\/\/[^\s"<>]+\/v1\/verify\?token=[^\s"<>]+/);
  assert.ok(m, `a link in the email "${msg.subject}"`);
  return m[0].replace(/&amp;/g, '&');
}

/** Starts createEmailLinkFlow in the page; its outcome lands in window.__link. */
function startLinkFlow(s, email) {
  return s.run(async (clerk, e) => {
    const si = await clerk.client.signIn.create({ identifier: e });
    const factor = si.supportedFirstFactors.find((f) => f.strategy === 'email_link');
    const { startEmailLinkFlow } = si.createEmailLinkFlow();
    window.__link = startEmailLinkFlow({ emailAddressId: factor.emailAddressId, redirectUrl: `${location.origin}/?verify=1` }).then(
      (r) => ({ status: r.status, sid: r.createdSessionId, verification: r.firstFactorVerification.status }),
    );
    return null;
  }, email);
}

/** In a page opened at the link's redirect: Clerk.load() and handleEmailLinkVerification(). */
function handleInPage(page) {
  return page.evaluate(async () => {
    const record = (to) => window.__tessera.navigations.push(String(to));
    await window.Clerk.load({ telemetry: false, routerPush: record, routerReplace: record });
    let otherDevice = false;
    let error = null;
    try {
      await window.Clerk.handleEmailLinkVerification({ redirectUrlComplete: '/done', onVerifiedOnOtherDevice: () => { otherDevice = true; } });
    } catch (e) {
      error = e.code ?? String(e);
    }
    const out = {
      status: new URL(location.href).searchParams.get('__clerk_status'),
      otherDevice,
      userId: window.Clerk.user?.id ?? null,
    };
    if (error) out.error = error;
    return out;
  });
}

describe('email links (clerk-js and @clerk/ui)', () => {
  let s;
  let elsewhere;
  const password = strongPassword();

  before(async () => {
    await patchSettings({ user: { email_link_enabled: true } });
  });
  after(async () => {
    await patchSettings({ user: { email_link_enabled: false } });
    await s?.close();
    await elsewhere?.close();
  });

  test('createEmailLinkFlow: the link opened in a second tab of the same browser', async () => {
    const email = uniqueEmail();
    const user = await backend().users.createUser({ emailAddress: [email], password });
    s = await ClerkPage.open('email-link');
    await s.step('email-link-same-browser', async () => {
      await s.goto();
      await s.load();
      await startLinkFlow(s, email);
      const link = await linkFor(email);
      const tab = await s.context.newPage();
      await tab.goto(link, { waitUntil: 'load', timeout: 30_000 });
      assert.match(tab.url(), /__clerk_status=verified&__clerk_created_session=sess_/);
      const handled = await handleInPage(tab);
      assert.deepEqual(handled, { status: 'verified', otherDevice: false, userId: user.id });
      await tab.close();
      const waited = await s.run(async () => window.__link);
      assert.equal(waited.status, 'complete');
      assert.equal(waited.verification, 'verified');
      await s.run(async (clerk, sid) => clerk.setActive({ session: sid }).then(() => null), waited.sid);
      await waitForUser(s, email);
      await s.screenshot('email-link-1-signed-in');
    });
  });

  test('the link opened on another device: the waiting tab completes', async () => {
    const email = uniqueEmail();
    const user = await backend().users.createUser({ emailAddress: [email], password });
    const waiting = await ClerkPage.open('email-link-waiting');
    elsewhere = await ClerkPage.open('email-link-elsewhere');
    try {
      await waiting.step('email-link-other-device', async () => {
        await waiting.goto();
        await waiting.load();
        await startLinkFlow(waiting, email);
        const link = await linkFor(email);
        await elsewhere.page.goto(link, { waitUntil: 'load', timeout: 30_000 });
        const handled = await handleInPage(elsewhere.page);
        assert.deepEqual(handled, { status: 'verified', otherDevice: true, userId: null });
        const waited = await waiting.run(async () => window.__link);
        assert.equal(waited.status, 'complete');
        await waiting.run(async (clerk, sid) => clerk.setActive({ session: sid }).then(() => null), waited.sid);
        const state = await waiting.state();
        assert.equal(state.userId, user.id);
        // Opened again, the link has been used: clerk-js reports it failed.
        await elsewhere.page.goto(link, { waitUntil: 'load', timeout: 30_000 });
        assert.match(elsewhere.page.url(), /__clerk_status=failed/);
        const again = await handleInPage(elsewhere.page);
        assert.equal(again.error, 'failed', JSON.stringify(again));
      });
    } finally {
      await waiting.close();
    }
  });

  test('require_same_client: a link opened on another device reports client_mismatch', async () => {
    const email = uniqueEmail();
    await backend().users.createUser({ emailAddress: [email], password });
    await patchSettings({ user: { email_link_require_same_client: true } });
    const waiting = await ClerkPage.open('email-link-same-client');
    const other = await ClerkPage.open('email-link-mismatch');
    try {
      await waiting.step('email-link-client-mismatch', async () => {
        await waiting.goto();
        await waiting.load();
        await startLinkFlow(waiting, email);
        const link = await linkFor(email);
        await other.page.goto(link, { waitUntil: 'load', timeout: 30_000 });
        assert.match(other.page.url(), /__clerk_status=client_mismatch/);
        const handled = await handleInPage(other.page);
        assert.equal(handled.error, 'client_mismatch', JSON.stringify(handled));
        assert.equal(handled.userId, null);
        const si = await waiting.run(async (clerk) => {
          await clerk.client.signIn.reload();
          return { status: clerk.client.signIn.status, v: clerk.client.signIn.firstFactorVerification.status };
        });
        assert.deepEqual(si, { status: 'needs_first_factor', v: 'unverified' });
      });
    } finally {
      await patchSettings({ user: { email_link_require_same_client: false } });
      await waiting.close();
      await other.close();
    }
  });

  test('<SignIn/>: another method, an email link, opened elsewhere', async () => {
    const email = uniqueEmail();
    await backend().users.createUser({ emailAddress: [email], password });
    const page = await ClerkPage.open('email-link-component');
    try {
      await page.step('email-link-component', async () => {
        await page.goto({ ui: true });
        await page.load({ ui: true });
        const root = await mount(page, 'signIn');
        const start = page.page.locator(`${root} .cl-signIn-start`);
        await start.locator('input[name="identifier"]').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
        await start.locator('input[name="identifier"]').fill(email);
        await start.locator('.cl-formButtonPrimary').click();
        await page.page.locator(`${root} .cl-card.cl-signIn-password`).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
        await page.page.locator(root).getByText('Use another method').click();
        await page.page.locator(`${root} .cl-alternativeMethodsBlockButton`).filter({ hasText: 'Email link' }).click();
        await page.page.locator(`${root} .cl-signIn-emailLinkVerify`).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
        await page.screenshot('email-link-2-check-your-email');
        const link = await linkFor(email);
        const other = await ClerkPage.open('email-link-component-other');
        try {
          await other.page.goto(link, { waitUntil: 'load', timeout: 30_000 });
          assert.match(other.page.url(), /__clerk_status=verified/);
        } finally {
          await other.close();
        }
        await waitForUser(page, email);
        await page.screenshot('email-link-3-signed-in');
      });
    } finally {
      await page.close();
    }
  });

  test('signUp and a new email address of the user verified by links opened elsewhere', async () => {
    const email = uniqueEmail();
    const page = await ClerkPage.open('email-link-sign-up');
    const other = await ClerkPage.open('email-link-sign-up-other');
    try {
      await page.step('email-link-sign-up', async () => {
        await page.goto();
        await page.load();
        await page.run(async (clerk, a) => {
          const su = await clerk.client.signUp.create({ emailAddress: a.email, password: a.password });
          const { startEmailLinkFlow } = su.createEmailLinkFlow();
          window.__signUp = startEmailLinkFlow({ redirectUrl: `${location.origin}/?verify=1` }).then((r) => ({
            status: r.status,
            sid: r.createdSessionId,
            verification: r.verifications.emailAddress.status,
          }));
          return null;
        }, { email, password });
        await other.page.goto(await linkFor(email), { waitUntil: 'load', timeout: 30_000 });
        assert.match(other.page.url(), /__clerk_status=verified/);
        const done = await page.run(async () => window.__signUp);
        assert.equal(done.status, 'complete');
        assert.equal(done.verification, 'verified');
        await page.run(async (clerk, sid) => clerk.setActive({ session: sid }).then(() => null), done.sid);
        await waitForUser(page, email);
      });
      await page.step('email-link-my-address', async () => {
        const second = uniqueEmail();
        await page.run(async (clerk, address) => {
          const created = await clerk.user.createEmailAddress({ email: address });
          const { startEmailLinkFlow } = created.createEmailLinkFlow();
          window.__mine = startEmailLinkFlow({ redirectUrl: `${location.origin}/?verify=1` }).then((r) => r.verification.status);
          return null;
        }, second);
        await other.page.goto(await linkFor(second), { waitUntil: 'load', timeout: 30_000 });
        assert.match(other.page.url(), /__clerk_status=verified/);
        assert.equal(await page.run(async () => window.__mine), 'verified');
      });
    } finally {
      await page.close();
      await other.close();
    }
  });

  test('<SignUp/>: email and password, then the emailed link opened elsewhere', async () => {
    const email = uniqueEmail();
    const page = await ClerkPage.open('email-link-sign-up-component');
    try {
      await page.step('email-link-sign-up-component', async () => {
        await page.goto({ ui: true });
        await page.load({ ui: true });
        const root = await mount(page, 'signUp');
        const card = page.page.locator(`${root} .cl-signUp-start`);
        await card.locator('input[name="emailAddress"]').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
        await card.locator('input[name="emailAddress"]').fill(email);
        await card.locator('input[name="password"]').fill(password);
        await card.locator('.cl-formButtonPrimary').click();
        await page.page.locator(root).getByText('Verify your email').first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
        await page.screenshot('email-link-4-sign-up-verify-your-email');
        const other = await ClerkPage.open('email-link-sign-up-component-other');
        try {
          await other.page.goto(await linkFor(email), { waitUntil: 'load', timeout: 30_000 });
          assert.match(other.page.url(), /__clerk_status=verified/);
        } finally {
          await other.close();
        }
        await waitForUser(page, email);
      });
    } finally {
      await page.close();
    }
  });
});
