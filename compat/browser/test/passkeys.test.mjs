// (n) Passkeys through clerk-js and @clerk/ui, with Chromium's virtual
// authenticator (DevTools WebAuthn domain: a platform authenticator that
// holds resident keys and verifies the user): user.createPasskey(), rename,
// sign-in with signIn.authenticateWithPasskey() both discoverable and after an
// identifier, reverification with session.verifyWithPasskey(); then the
// prebuilt <UserProfile/> adds a passkey by clicking "Add a passkey", <SignIn/>
// signs in by itself through autofill, and by "Use passkey instead".
//
// WebAuthn needs a page on a domain name: this test serves the page, and
// reaches the server, at `localhost` (browsers refuse 127.0.0.1 as a relying
// party). clerk-js treats WebAuthn as unsupported while `navigator.webdriver`
// is true, so Chromium starts with AutomationControlled off.
//
// Selectors, read from @clerk/ui 1.34.0:
//   profile     nav "Security", button "Add a passkey", .cl-profileSectionItem__passkeys,
//               "Open menu" → "Rename" (input "Name of passkey", "Save") / "Remove" (confirm "Remove")
//   sign-in     link "Use passkey instead"
import { after, before, describe, test } from 'node:test';

import { startPageServer } from '../lib/page-server.mjs';
import {
  assert,
  backend,
  ClerkPage,
  env,
  patchSettings,
  press,
  signInWithPassword,
  signOut,
  strongPassword,
  UI_TIMEOUT,
  uniqueEmail,
  verifyJwt,
  waitForUser,
} from './helpers.mjs';

const local = (url) => url.replace('://127.0.0.1:', '://localhost:');

/** A virtual platform authenticator on the page; its id. */
async function addAuthenticator(s) {
  s.cdp = await s.context.newCDPSession(s.page);
  await s.cdp.send('WebAuthn.enable');
  const { authenticatorId } = await s.cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return authenticatorId;
}

async function credentials(s, authenticatorId) {
  const { credentials: list } = await s.cdp.send('WebAuthn.getCredentials', { authenticatorId });
  return list;
}

async function mountProfile(s) {
  return s.run(async (clerk) => {
    const div = document.createElement('div');
    div.id = `mount-profile-${Date.now()}`;
    document.getElementById('mount').replaceChildren(div);
    clerk.mountUserProfile(div, { routing: 'hash' });
    return `#${div.id}`;
  });
}

async function mountSignIn(s) {
  return s.run(async (clerk) => {
    const div = document.createElement('div');
    div.id = `mount-signin-${Date.now()}`;
    document.getElementById('mount').replaceChildren(div);
    clerk.mountSignIn(div, { routing: 'hash' });
    return `#${div.id}`;
  });
}

describe('passkeys (clerk-js and @clerk/ui, virtual authenticator)', () => {
  let pages;
  let s;
  let authenticatorId;
  const password = strongPassword();

  before(async () => {
    await patchSettings({ user: { passkey_enabled: true, passkey_allow_autofill: false } });
    pages = await startPageServer({ publishableKey: env.pk, proxyUrl: local(env.url) });
    s = await ClerkPage.open('passkeys', {
      origin: local(pages.origin),
      watchOrigin: local(env.url),
      args: ['--disable-blink-features=AutomationControlled'],
    });
    authenticatorId = await addAuthenticator(s);
  });
  after(async () => {
    await s?.close();
    await pages?.close();
    await patchSettings({ user: { passkey_enabled: false, passkey_allow_autofill: true } });
  });

  test('createPasskey, rename, sign in (discoverable, after an identifier), reverify', async () => {
    const email = uniqueEmail();
    const created = await backend().users.createUser({ emailAddress: [email], password });

    await s.step('passkey-register', async () => {
      await s.goto();
      await s.load();
      const si = await signInWithPassword(s, { identifier: email, password });
      assert.equal(si.status, 'complete');
      await s.run(async (clerk, sid) => clerk.setActive({ session: sid }).then(() => null), si.createdSessionId);
      const pk = await s.run(async (clerk) => {
        const p = await clerk.user.createPasskey();
        const renamed = await p.update({ name: 'Test laptop' });
        await clerk.user.reload();
        return {
          id: p.id,
          status: p.verification?.status,
          name: renamed.name,
          listed: clerk.user.passkeys.map((x) => x.name),
        };
      });
      assert.match(pk.id, /^idn_/);
      assert.equal(pk.status, 'verified');
      assert.equal(pk.name, 'Test laptop');
      assert.deepEqual(pk.listed, ['Test laptop']);
      const held = await credentials(s, authenticatorId);
      assert.equal(held.length, 1);
      assert.equal(held[0].isResidentCredential, true, 'a discoverable credential');
      assert.equal(held[0].rpId, 'localhost');
      const user = await backend().users.getUser(created.id);
      assert.deepEqual(
        user.raw.passkeys.map((p) => p.name),
        ['Test laptop'],
      );
    });

    await s.step('passkey-sign-in-discoverable', async () => {
      await signOut(s);
      const out = await s.run(async (clerk) => {
        const si = await clerk.client.signIn.authenticateWithPasskey({ flow: 'discoverable' });
        await clerk.setActive({ session: si.createdSessionId });
        return { status: si.status, email: clerk.user.primaryEmailAddress.emailAddress, jwt: await clerk.session.getToken() };
      });
      assert.equal(out.status, 'complete');
      assert.equal(out.email, email);
      const claims = await verifyJwt(out.jwt);
      assert.equal(claims.sub, created.id);
      assert.ok((await credentials(s, authenticatorId))[0].signCount > 0, 'the sign-in was signed');
    });

    await s.step('passkey-sign-in-identified', async () => {
      await signOut(s);
      const out = await s.run(
        async (clerk, a) => {
          const first = await clerk.client.signIn.create({ identifier: a.email });
          const factors = first.supportedFirstFactors.map((f) => f.strategy);
          const si = await clerk.client.signIn.authenticateWithPasskey();
          await clerk.setActive({ session: si.createdSessionId });
          return { factors, status: si.status, userId: clerk.user.id };
        },
        { email },
      );
      assert.ok(out.factors.includes('passkey'), JSON.stringify(out.factors));
      assert.equal(out.status, 'complete');
      assert.equal(out.userId, created.id);
    });

    await s.step('passkey-reverify', async () => {
      const out = await s.run(async (clerk) => {
        const started = await clerk.session.startVerification({ level: 'first_factor' });
        const done = await clerk.session.verifyWithPasskey();
        return {
          offered: started.supportedFirstFactors.map((f) => f.strategy),
          status: done.status,
          fva: clerk.session.factorVerificationAge,
        };
      });
      assert.ok(out.offered.includes('passkey'), JSON.stringify(out.offered));
      assert.equal(out.status, 'complete');
      assert.equal(out.fva[0], 0, JSON.stringify(out.fva));
      await signOut(s);
    });
  });

  test('<UserProfile/> adds a passkey; <SignIn/> signs in with it by autofill and by "Use passkey instead"', async () => {
    const email = uniqueEmail();
    await backend().users.createUser({ emailAddress: [email], password });
    await s.cdp.send('WebAuthn.clearCredentials', { authenticatorId });

    await s.step('profile-add-passkey', async () => {
      await s.goto({ ui: true });
      await s.load({ ui: true });
      const si = await signInWithPassword(s, { identifier: email, password });
      await s.run(async (clerk, sid) => clerk.setActive({ session: sid }).then(() => null), si.createdSessionId);
      const root = await mountProfile(s);
      const profile = s.page.locator(root);
      await profile.getByRole('button', { name: 'Security' }).first().click({ timeout: UI_TIMEOUT });
      await profile.getByRole('button', { name: 'Add a passkey' }).click({ timeout: UI_TIMEOUT });
      const item = profile.locator('.cl-profileSectionItem__passkeys');
      await item.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('passkeys-1-profile-added');
      await item.first().getByRole('button', { name: 'Open menu' }).click({ timeout: UI_TIMEOUT });
      await s.page.getByRole('menuitem', { name: 'Rename' }).click({ timeout: UI_TIMEOUT });
      await profile.getByLabel('Name of passkey').fill('Desk key');
      await press(profile.getByRole('button', { name: 'Save' }));
      await profile.getByText('Desk key').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('passkeys-2-profile-renamed');
      assert.equal((await credentials(s, authenticatorId)).length, 1);
      await signOut(s);
    });

    await s.step('sign-in-autofill', async () => {
      await patchSettings({ user: { passkey_allow_autofill: true } });
      await s.goto({ ui: true });
      await s.load({ ui: true });
      const root = await mountSignIn(s);
      await s.page.locator(`${root} input[name="identifier"]`).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      // The identifier field offers passkeys; the virtual authenticator answers at once.
      await waitForUser(s, email);
      await s.screenshot('passkeys-3-autofill-signed-in');
      await signOut(s);
      await patchSettings({ user: { passkey_allow_autofill: false } });
    });

    await s.step('sign-in-button', async () => {
      await s.goto({ ui: true });
      await s.load({ ui: true });
      const root = await mountSignIn(s);
      await s.page.getByText('Use passkey instead').click({ timeout: UI_TIMEOUT });
      await waitForUser(s, email);
      await s.screenshot('passkeys-4-button-signed-in');
    });

    await s.step('profile-remove-passkey', async () => {
      const root = await mountProfile(s);
      const profile = s.page.locator(root);
      await profile.getByRole('button', { name: 'Security' }).first().click({ timeout: UI_TIMEOUT });
      const item = profile.locator('.cl-profileSectionItem__passkeys');
      await item.first().getByRole('button', { name: 'Open menu' }).click({ timeout: UI_TIMEOUT });
      await s.page.getByRole('menuitem', { name: 'Remove' }).click({ timeout: UI_TIMEOUT });
      await press(profile.getByRole('button', { name: 'Remove' }));
      await s.page.waitForFunction(() => window.Clerk?.user?.passkeys?.length === 0, null, { timeout: UI_TIMEOUT });
      await signOut(s);
    });
  });
});
