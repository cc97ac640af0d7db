// (t) Session tasks: with organization selection forced, a user who signs in
// with <SignIn/> and belongs to no organization lands on the
// `choose-organization` task; while it is left the session is pending (clerk-js
// counts it as not signed in, its token says `sts: pending`, @clerk/backend's
// toAuth() treats it as signed out). Creating an organization in the task's
// form makes it active with the organization in the token.
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
  typeSignIn,
  signInWithPassword,
  strongPassword,
  uniqueEmail,
  UI_TIMEOUT,
} from './helpers.mjs';

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

async function organizationSettings(body) {
  const res = await fetch(`${env.url}/v1/instance/organization_settings`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${env.sk}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.text());
}

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
