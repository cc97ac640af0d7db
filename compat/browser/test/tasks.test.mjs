// (t) Session tasks: with organization selection forced, a user who signs in
// with <SignIn/> and belongs to no organization lands on the
// `choose-organization` task; while it is left the session is pending (clerk-js
// counts it as not signed in, its token says `sts: pending`, @clerk/backend's
// toAuth() treats it as signed out). Creating an organization in the task's
// form makes it active with the organization in the token. Tasks kept from a
// session's start: a password the Backend API marked compromised is refused
// at sign-in, an emailed code signs in, and <TaskResetPassword/> sets a new
// password; with a second factor required, <TaskSetupMFA/> adds an
// authenticator app.
//
// Texts and selectors, read from @clerk/ui 1.34.0 (tasks/TaskChooseOrganization):
//   create form   input[name="name"], input[name="slug"], button "Continue"
//   choose list   "Choose an organization", one button per membership
import { after, before, describe, test } from 'node:test';

import {
  assert,
  backend,
  ClerkPage,
  env,
  mount,
  signInWithPassword,
  strongPassword,
  totpCode,
  typeSignIn,
  uniqueEmail,
  UI_TIMEOUT,
  waitForCode,
} from './helpers.mjs';

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

/** PATCH a Backend API settings document (`settings`, `organization_settings`). */
async function patchInstance(path, body) {
  const res = await fetch(`${env.url}/v1/instance/${path}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${env.sk}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.text());
}

const organizationSettings = (body) => patchInstance('organization_settings', body);
const instanceSettings = (body) => patchInstance('settings', body);

/** @clerk/backend's view of an app request carrying `jwt`. */
async function authOf(jwt, options) {
  const state = await backend().authenticateRequest(
    new Request('http://127.0.0.1:3000/api/me', {
      headers: { accept: 'application/json', 'sec-fetch-dest': 'empty', authorization: `Bearer ${jwt}` },
    }),
    { jwtKey: env.pem, publishableKey: env.pk },
  );
  return state.toAuth(options);
}

describe('session tasks (clerk-js and @clerk/ui)', () => {
  let s;
  let member;
  const email = uniqueEmail();
  const password = strongPassword();
  let userId;

  before(async () => {
    // Pages read the settings once, on load: set before the page opens.
    await organizationSettings({ enabled: true, force_organization_selection: true });
    userId = (await backend().users.createUser({ emailAddress: [email], password, firstName: 'Tasha' })).id;
    s = await ClerkPage.open('tasks');
  });
  after(async () => {
    await organizationSettings({ force_organization_selection: false });
    await s?.close();
    await member?.close();
  });

  test('<SignIn/> leads to choose-organization; creating one there makes the session active', async () => {
    let root;
    await s.step('tasks-signin', async () => {
      await s.goto({ ui: true });
      await s.load({ ui: true });
      root = await mount(s, 'signIn');
      await typeSignIn(s, root, { identifier: email, password });
    });

    await s.step('tasks-pending', async () => {
      // No memberships, invitations or suggestions: the task opens on its create form.
      const name = s.page.locator(`${root} input[name="name"]`);
      await name.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('tasks-1-choose-organization');
      const state = await s.run(async (clerk) => ({
        status: clerk.session?.status,
        task: clerk.session?.currentTask?.key ?? null,
        isSignedIn: clerk.isSignedIn,
        userId: clerk.user?.id ?? null,
        hash: window.location.hash,
        jwt: await clerk.session.getToken(),
      }));
      assert.equal(state.status, 'pending', JSON.stringify(state));
      assert.equal(state.task, 'choose-organization');
      assert.equal(state.isSignedIn, false, 'a pending session is not signed in for clerk-js');
      assert.equal(state.userId, userId, 'clerk.user is there while the task is left');
      assert.match(state.hash, /tasks\/choose-organization/);
      const c = claims(state.jwt);
      assert.equal(c.sts, 'pending');
      assert.equal(c.o, undefined);
      // @clerk/backend: signed out by default, the user with treatPendingAsSignedOut: false.
      const auth = await authOf(state.jwt);
      assert.equal(auth.userId, null);
      assert.equal(auth.sessionStatus, 'pending');
      assert.equal((await authOf(state.jwt, { treatPendingAsSignedOut: false })).userId, userId);
      // The Backend API shows the task too.
      const sess = await backend().sessions.getSession(c.sid);
      assert.equal(sess.status, 'pending');
    });

    await s.step('tasks-create-organization', async () => {
      await s.page.locator(`${root} input[name="name"]`).fill('Task Force');
      await s.screenshot('tasks-2-filled');
      await s.page.locator(root).getByRole('button', { name: /continue/i }).click();
      await s.page.waitForFunction(
        () => window.Clerk?.session?.status === 'active' && window.Clerk?.organization?.name === 'Task Force',
        null,
        { timeout: UI_TIMEOUT },
      );
      const state = await s.run(async (clerk) => ({
        isSignedIn: clerk.isSignedIn,
        task: clerk.session?.currentTask?.key ?? null,
        orgId: clerk.organization?.id,
        jwt: await clerk.session.getToken(),
      }));
      assert.equal(state.isSignedIn, true);
      assert.equal(state.task, null);
      // The task is done: the component went on to the after-sign-in URL.
      await s.page.waitForFunction(() => window.__tessera.navigations.length > 0, null, { timeout: UI_TIMEOUT });
      const c = claims(state.jwt);
      assert.equal(c.sts, 'active');
      assert.equal(c.o?.id, state.orgId);
      assert.equal(c.o?.rol, 'admin');
      const auth = await authOf(state.jwt);
      assert.equal(auth.userId, userId);
      assert.equal(auth.orgId, state.orgId);
      await s.screenshot('tasks-3-done');
    });
  });

  test('<TaskChooseOrganization/>: a member picks one of their organizations', async () => {
    const memberEmail = uniqueEmail();
    const memberId = (await backend().users.createUser({ emailAddress: [memberEmail], password, firstName: 'Mo' })).id;
    const org = await backend().organizations.createOrganization({ name: 'Pick Me', createdBy: memberId });
    member = await ClerkPage.open('tasks-member');
    await member.step('tasks-choose', async () => {
      await member.goto({ ui: true });
      await member.load({ ui: true });
      const si = await signInWithPassword(member, { identifier: memberEmail, password });
      assert.equal(si.status, 'complete', JSON.stringify(si));
      const status = await member.run(async (clerk, sid) => {
        await clerk.setActive({ session: sid, navigate: async () => {} });
        return clerk.session?.status;
      }, si.createdSessionId);
      assert.equal(status, 'pending');
      const root = await member.run(async (clerk) => {
        const div = document.createElement('div');
        div.id = `mount-task-${Date.now()}`;
        document.getElementById('mount').replaceChildren(div);
        clerk.mountTaskChooseOrganization(div, { redirectUrlComplete: '/after-task' });
        return `#${div.id}`;
      });
      const pick = member.page.locator(root).getByRole('button', { name: /Pick Me/ });
      await pick.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await member.screenshot('tasks-4-choose-list');
      await pick.click();
      await member.page.waitForFunction(
        (id) => window.Clerk?.session?.status === 'active' && window.Clerk?.organization?.id === id,
        org.id,
        { timeout: UI_TIMEOUT },
      );
      await member.page.waitForFunction(
        () => window.__tessera.navigations.some((n) => n.includes('/after-task')),
        null,
        { timeout: UI_TIMEOUT },
      );
      const sess = await backend().sessions.getSession(si.createdSessionId);
      assert.equal(sess.status, 'active');
      assert.equal(sess.lastActiveOrganizationId, org.id);
      await member.screenshot('tasks-5-chosen');
    });
  });

});

describe('session tasks kept from the start (clerk-js and @clerk/ui)', () => {
  const password = strongPassword();

  test('reset-password: a compromised password, an emailed code, then <TaskResetPassword/>', async () => {
    const resetEmail = uniqueEmail();
    const resetUser = await backend().users.createUser({ emailAddress: [resetEmail], password });
    await backend().users.setPasswordCompromised(resetUser.id);
    const page = await ClerkPage.open('tasks-reset');
    try {
      await page.step('tasks-reset-password', async () => {
        await page.goto({ ui: true });
        await page.load({ ui: true });
        const root = await mount(page, 'signIn');
        await typeSignIn(page, root, { identifier: resetEmail, password });
        // The right password is refused; another way in is offered.
        await page.page.getByText('Your password may be compromised').first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
        await page.screenshot('tasks-6-password-compromised');
        await page.page.locator(`${root} .cl-alternativeMethodsBlockButton`).filter({ hasText: 'Email code' }).click();
        const otp = page.page.locator(`${root} .cl-signIn-emailCode input[data-input-otp]`);
        await otp.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
        await otp.click();
        await otp.pressSequentially(await waitForCode(resetEmail, { latest: true }), { delay: 60 });
        const fresh = `${password}-new`;
        const newPassword = page.page.locator(`${root} input[name="newPassword"]`);
        await newPassword.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
        const state = await page.run(async (clerk) => ({ status: clerk.session?.status, task: clerk.session?.currentTask?.key }));
        assert.deepEqual(state, { status: 'pending', task: 'reset-password' });
        await page.screenshot('tasks-7-reset-password');
        await newPassword.fill(fresh);
        await page.page.locator(`${root} input[name="confirmPassword"]`).fill(fresh);
        await page.page.locator(root).getByRole('button', { name: /reset password/i }).click();
        await page.page.waitForFunction(() => window.Clerk?.session?.status === 'active', null, { timeout: UI_TIMEOUT });
        const jwt = await page.run(async (clerk) => clerk.session.getToken());
        assert.equal(claims(jwt).sts, 'active');
        // The new password signs in; the old one does not.
        const other = await backend().users.verifyPassword({ userId: resetUser.id, password: fresh });
        assert.equal(other.verified, true);
      });
    } finally {
      await page.close();
    }
  });

  test('setup-mfa: with a second factor required, <TaskSetupMFA/> adds an authenticator app', async () => {
    await instanceSettings({ user: { mfa_required: true } });
    const mfaEmail = uniqueEmail();
    await backend().users.createUser({ emailAddress: [mfaEmail], password });
    const page = await ClerkPage.open('tasks-mfa');
    try {
      await page.step('tasks-setup-mfa', async () => {
        await page.goto({ ui: true });
        await page.load({ ui: true });
        const root = await mount(page, 'signIn');
        await typeSignIn(page, root, { identifier: mfaEmail, password });
        // Only authenticator apps are offered (no SMS on this instance): straight to its QR code.
        const qr = page.page.locator(`${root} .cl-qrCodeContainer svg`);
        await qr.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
        const state = await page.run(async (clerk) => ({ status: clerk.session?.status, task: clerk.session?.currentTask?.key }));
        assert.deepEqual(state, { status: 'pending', task: 'setup-mfa' });
        await page.screenshot('tasks-8-setup-mfa');
        await page.page.locator(root).getByRole('button', { name: /scan QR code\?/ }).click();
        const secret = await page.page.locator(`${root} input[readonly]`).first().inputValue();
        assert.match(secret, /^[A-Z2-7]{32}$/);
        await page.page.locator(root).getByRole('button', { name: 'Continue' }).click();
        await page.page.locator(root).getByLabel('Enter verification code').pressSequentially(totpCode(secret), { delay: 40 });
        await page.page.getByText('Authenticator application verification enabled').first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
        await page.screenshot('tasks-9-setup-mfa-done');
        await page.page.locator(root).getByRole('button', { name: 'Continue' }).click();
        await page.page.waitForFunction(() => window.Clerk?.session?.status === 'active' && window.Clerk?.user?.totpEnabled, null, {
          timeout: UI_TIMEOUT,
        });
      });
    } finally {
      await instanceSettings({ user: { mfa_required: false } });
      await page.close();
    }
  });
});
