// (o) Organizations through clerk-js: createOrganization, getOrganization,
// setActive switching the token's `o` claim, a member whose role cannot manage
// members refused, and the prebuilt <OrganizationSwitcher/>,
// <CreateOrganization/>, <OrganizationProfile/> and <OrganizationList/>
// rendering and working by clicking and typing (screenshots as artifacts); a
// verified domain's suggestion requested from <OrganizationList/> and accepted
// in <OrganizationProfile/>.
import { after, before, describe, test } from 'node:test';

import {
  assert,
  backend,
  ClerkPage,
  env,
  PageError,
  signInWithPassword,
  strongPassword,
  uniqueEmail,
  UI_TIMEOUT,
  waitForEmail,
} from './helpers.mjs';
import { BrowserSession } from '../lib/browser.mjs';

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

async function signedIn(name, email, password) {
  const s = await ClerkPage.open(name);
  await s.goto({ ui: true });
  await s.load({ ui: true });
  const si = await signInWithPassword(s, { identifier: email, password });
  assert.equal(si.status, 'complete', JSON.stringify(si));
  await s.run(async (clerk, sid) => clerk.setActive({ session: sid }).then(() => null), si.createdSessionId);
  return s;
}

/** Mounts `component` (mountOrganizationSwitcher, …) into a fresh div; its selector. */
function mountComponent(s, method, props = {}) {
  return s.run(
    async (clerk, a) => {
      const div = document.createElement('div');
      div.id = `mount-${a.method}-${Date.now()}`;
      document.getElementById('mount').replaceChildren(div);
      clerk[a.method](div, a.props);
      return `#${div.id}`;
    },
    { method, props },
  );
}

describe('organizations (clerk-js and @clerk/ui)', () => {
  let ada;
  let bob;
  let orgId;
  const adaEmail = uniqueEmail();
  const bobEmail = uniqueEmail();
  const password = strongPassword();
  let bobId;

  before(async () => {
    const res = await fetch(`${env.url}/v1/instance/organization_settings`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${env.sk}`, 'content-type': 'application/json' },
      // Verified domains on from the start: pages read the settings once, on load.
      body: JSON.stringify({
        enabled: true,
        domains_enabled: true,
        domains_enrollment_modes: ['automatic_invitation', 'automatic_suggestion'],
      }),
    });
    assert.equal(res.status, 200, await res.text());
    await backend().users.createUser({ emailAddress: [adaEmail], password, firstName: 'Ada' });
    bobId = (await backend().users.createUser({ emailAddress: [bobEmail], password, firstName: 'Bob' })).id;
    ada = await signedIn('organizations-ada', adaEmail, password);
  });
  after(async () => {
    await ada?.close();
    await bob?.close();
  });

  test('createOrganization, getOrganization, and setActive changes the token', async () => {
    await ada.step('create', async () => {
      const created = await ada.run(async (clerk) => {
        const org = await clerk.createOrganization({ name: 'Browser Org' });
        return { id: org.id, name: org.name, slug: org.slug };
      });
      assert.match(created.id, /^org_/);
      assert.equal(created.name, 'Browser Org');
      orgId = created.id;

      const active = await ada.run(async (clerk, id) => {
        await clerk.setActive({ organization: id });
        const jwt = await clerk.session.getToken();
        const fetched = await clerk.getOrganization(id);
        const members = await clerk.organization.getMemberships();
        return {
          active: clerk.organization?.id ?? null,
          role: clerk.organization ? clerk.session.checkAuthorization({ role: 'org:admin' }) : null,
          jwt,
          fetchedName: fetched.name,
          members: members.total_count ?? members.totalCount,
        };
      }, orgId);
      assert.equal(active.active, orgId, JSON.stringify(active));
      assert.equal(active.fetchedName, 'Browser Org');
      assert.equal(active.members, 1);
      assert.equal(active.role, true, 'the admin role, as clerk-js reads it');
      const o = claims(active.jwt).o;
      assert.equal(o?.id, orgId, JSON.stringify(claims(active.jwt)));
      assert.equal(o?.rol, 'admin');

      const personal = await ada.run(async (clerk) => {
        await clerk.setActive({ organization: null });
        return { active: clerk.organization?.id ?? null, jwt: await clerk.session.getToken({ skipCache: true }) };
      });
      assert.equal(personal.active, null);
      assert.equal(claims(personal.jwt).o, undefined, 'the personal account has no o claim');
    });
  });

  test('a member without org:sys_memberships:manage cannot remove someone', async () => {
    await backend().organizations.createOrganizationMembership({ organizationId: orgId, userId: bobId, role: 'org:member' });
    bob = await signedIn('organizations-bob', bobEmail, password);
    await bob.step('member-refused', async () => {
      const adaId = (await backend().users.getUserList({ emailAddress: [adaEmail] })).data[0].id;
      const seen = await bob.run(async (clerk, id) => {
        await clerk.setActive({ organization: id });
        const jwt = await clerk.session.getToken();
        return { role: clerk.organization?.id ? 'set' : null, jwt };
      }, orgId);
      assert.equal(claims(seen.jwt).o?.rol, 'member');
      let refused;
      try {
        await bob.run(async (clerk, userId) => clerk.organization.removeMember(userId).then(() => null), adaId);
      } catch (e) {
        refused = e;
      }
      assert.ok(refused instanceof PageError, 'removeMember was refused');
      assert.equal(refused.status, 403, refused.message);
      assert.equal(refused.errors?.[0]?.code, 'authorization_invalid');
      const members = await backend().organizations.getOrganizationMembershipList({ organizationId: orgId });
      assert.equal(members.totalCount, 2, 'nobody was removed');
    });
  });

  test('<OrganizationSwitcher/> lists the organization and switches to it', async () => {
    await ada.step('switcher', async () => {
      const root = await mountComponent(ada, 'mountOrganizationSwitcher', { hidePersonal: false });
      const trigger = ada.page.locator(`${root} .cl-organizationSwitcherTrigger`);
      await trigger.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await trigger.click();
      const item = ada.page.getByText('Browser Org').last();
      await item.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await ada.screenshot('org-switcher-open');
      await item.click();
      await ada.page.waitForFunction((id) => window.Clerk?.organization?.id === id, orgId, { timeout: UI_TIMEOUT });
      await ada.screenshot('org-switcher-switched');
    });
  });

  test('<OrganizationProfile/> shows the members', async () => {
    await ada.step('profile', async () => {
      const root = await mountComponent(ada, 'mountOrganizationProfile', { routing: 'hash' });
      await ada.page.locator(root).getByText('Browser Org').first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await ada.screenshot('org-profile-general');
      await ada.page.locator(root).getByText('Members').first().click();
      await ada.page.locator(root).getByText(bobEmail).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await ada.screenshot('org-profile-members');
    });
  });

  test('<CreateOrganization/> creates one by typing its name', async () => {
    await ada.step('create-component', async () => {
      const root = await mountComponent(ada, 'mountCreateOrganization', { routing: 'hash', skipInvitationScreen: true });
      const name = ada.page.locator(`${root} input[name="name"]`);
      await name.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await name.fill('Typed Org');
      await ada.screenshot('create-org-filled');
      await ada.page.locator(`${root} .cl-formButtonPrimary`).click();
      await ada.page.waitForFunction(() => window.Clerk?.organization?.name === 'Typed Org', null, { timeout: UI_TIMEOUT });
      const list = await backend().organizations.getOrganizationList({ query: 'Typed Org' });
      assert.equal(list.totalCount, 1);
    });
  });

  test('<OrganizationList/> shows both organizations', async () => {
    await ada.step('list', async () => {
      const root = await mountComponent(ada, 'mountOrganizationList', { hidePersonal: false });
      await ada.page.locator(root).getByText('Browser Org').first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await ada.page.locator(root).getByText('Typed Org').first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await ada.screenshot('org-list');
    });
  });

  test('an invitation email: its ticket link signs the invitee up on the hosted page and joins them', async () => {
    const cyEmail = uniqueEmail();
    await ada.step('invite', async () => {
      const sent = await ada.run(
        async (clerk, a) => {
          await clerk.setActive({ organization: a.orgId });
          const inv = await clerk.organization.inviteMember({ emailAddress: a.email, role: 'org:member' });
          return { id: inv.id, status: inv.status };
        },
        { orgId, email: cyEmail },
      );
      assert.equal(sent.status, 'pending');
    });
    const mail = await waitForEmail(cyEmail);
    const link = (mail.text ?? '').match(/https?:\/\/\S+__clerk_ticket=[0-9a-f]+\S*/)?.[0];
    assert.ok(link, `a ticket link in the email: ${mail.text}`);
    const cy = await BrowserSession.launch('organizations-invitee', { watchOrigin: env.url });
    try {
      await cy.step('ticket-sign-up', async () => {
        await cy.page.goto(link, { waitUntil: 'load', timeout: 30_000 });
        const pw = cy.page.locator('input[name="password"]');
        await pw.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
        await cy.screenshot('invitation-sign-up');
        await pw.fill(password);
        await cy.page.locator('.cl-formButtonPrimary').first().click();
        let member = false;
        for (let i = 0; i < 100 && !member; i++) {
          const users = await backend().users.getUserList({ emailAddress: [cyEmail] });
          if (users.data.length) {
            const list = await backend().users.getOrganizationMembershipList({ userId: users.data[0].id });
            member = list.data.some((m) => m.organization.id === orgId);
          }
          if (!member) await new Promise((r) => setTimeout(r, 200));
        }
        assert.ok(member, 'the invitee signed up and joined the organization');
        await cy.screenshot('invitation-joined');
      });
    } finally {
      await cy.close();
    }
  });

  test('a verified domain suggests the organization: <OrganizationList/> requests to join, the admin accepts in <OrganizationProfile/>', async () => {
    const domain = `d${Date.now().toString(36)}.example.com`;
    const deeEmail = `dee@${domain}`;
    const res = await fetch(`${env.url}/v1/organizations/${orgId}/domains`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.sk}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: domain, enrollment_mode: 'automatic_suggestion' }),
    });
    assert.equal(res.status, 200, await res.text());
    const deeId = (await backend().users.createUser({ emailAddress: [deeEmail], password, firstName: 'Dee' })).id;
    const dee = await signedIn('organizations-dee', deeEmail, password);
    try {
      await dee.step('suggestion', async () => {
        const seen = await dee.run(async (clerk) => {
          const page = await clerk.user.getOrganizationSuggestions({ status: ['pending', 'accepted'] });
          return page.data.map((s) => ({ status: s.status, name: s.publicOrganizationData.name }));
        });
        assert.deepEqual(seen, [{ status: 'pending', name: 'Browser Org' }]);
        const root = await mountComponent(dee, 'mountOrganizationList', { hidePersonal: false });
        const join = dee.page.locator(root).getByRole('button', { name: /request to join/i }).first();
        await join.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
        await dee.screenshot('org-list-suggestion');
        await join.click();
        await dee.page.locator(root).getByText(/pending approval/i).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
        await dee.screenshot('org-list-requested');
      });
    } finally {
      await dee.close();
    }
    await ada.step('domains-and-requests', async () => {
      // A fresh page: the components cache what they fetched on earlier mounts.
      await ada.goto({ ui: true });
      await ada.load({ ui: true });
      await ada.run(async (clerk, id) => clerk.setActive({ organization: id }).then(() => null), orgId);
      const root = await mountComponent(ada, 'mountOrganizationProfile', { routing: 'hash' });
      await ada.page.locator(root).getByText(domain).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await ada.screenshot('org-profile-domains');
      await ada.page.locator(root).getByText('Members').first().click();
      await ada.page.locator(root).getByRole('tab', { name: /requests/i }).first().click();
      await ada.page.locator(root).getByText(deeEmail).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await ada.screenshot('org-profile-requests');
      await ada.page.locator(root).getByRole('button', { name: /^approve$/i }).first().click();
      let member = false;
      for (let i = 0; i < 100 && !member; i++) {
        const list = await backend().users.getOrganizationMembershipList({ userId: deeId });
        member = list.data.some((m) => m.organization.id === orgId);
        if (!member) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(member, 'accepting the request joined Dee');
      await ada.screenshot('org-profile-request-accepted');
    });
  });
});
