// Organizations through @clerk/backend 3.25.0 (clerk.organizations.*, clerk.users.getOrganizationMembershipList).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { readFileSync } from 'node:fs';

import { clerk, createTestUser, expectApiError, idPattern, publicKeyPem, uniq } from './helpers.mjs';

function publishableKey() {
  return JSON.parse(readFileSync(process.env.TESSERA_KEYS_FILE, 'utf8')).publishable_key;
}

/** The auth object @clerk/backend makes of a request carrying `jwt` as a bearer token. */
async function authOf(jwt) {
  const request = new Request('http://127.0.0.1:3000/api/me', {
    headers: { accept: 'application/json', 'sec-fetch-dest': 'empty', authorization: `Bearer ${jwt}` },
  });
  const state = await clerk.authenticateRequest(request, { jwtKey: publicKeyPem(), publishableKey: publishableKey() });
  assert.equal(state.isSignedIn, true, `${state.status} ${state.reason} ${state.message}`);
  return state.toAuth();
}

describe('organizations', () => {
  test('create, read by id and slug, list, update, metadata, delete', async () => {
    const { user: ada } = await createTestUser({ firstName: 'Ada' });
    const slug = `node-${uniq()}`;
    const org = await clerk.organizations.createOrganization({
      name: 'Node Org',
      slug,
      createdBy: ada.id,
      publicMetadata: { plan: 'pro' },
      privateMetadata: { billing: 'x' },
      maxAllowedMemberships: 5,
    });
    assert.match(org.id, idPattern('org'));
    assert.equal(org.slug, slug);
    assert.equal(org.createdBy, ada.id);
    assert.equal(org.maxAllowedMemberships, 5);
    assert.equal(org.membersCount, 1);
    assert.deepEqual(org.publicMetadata, { plan: 'pro' });

    const bySlug = await clerk.organizations.getOrganization({ slug, includeMembersCount: true });
    assert.equal(bySlug.id, org.id);
    assert.equal(bySlug.membersCount, 1);
    const list = await clerk.organizations.getOrganizationList({ query: slug, includeMembersCount: true });
    assert.equal(list.totalCount, 1);
    assert.equal(list.data[0].id, org.id);

    const renamed = await clerk.organizations.updateOrganization(org.id, { name: 'Renamed', adminDeleteEnabled: false });
    assert.equal(renamed.name, 'Renamed');
    assert.equal(renamed.adminDeleteEnabled, false);
    const merged = await clerk.organizations.updateOrganizationMetadata(org.id, { publicMetadata: { seats: 3 } });
    assert.deepEqual(merged.publicMetadata, { plan: 'pro', seats: 3 });
    // The deprecated metadata path of updateOrganization replaces (PUT …/metadata).
    const replaced = await clerk.organizations.updateOrganization(org.id, { publicMetadata: { only: true } });
    assert.deepEqual(replaced.publicMetadata, { only: true });
    assert.deepEqual(replaced.privateMetadata, { billing: 'x' });

    const deleted = await clerk.organizations.deleteOrganization(org.id);
    assert.equal(deleted.deleted, true);
    assert.equal(deleted.id, org.id);
    await expectApiError(clerk.organizations.getOrganization({ organizationId: org.id }), {
      status: 404,
      code: 'resource_not_found',
    });
  });

  test('memberships: add, list, change role, metadata, remove; the last admin stays', async () => {
    const { user: ada } = await createTestUser({ firstName: 'Ada' });
    const { user: bob } = await createTestUser({ firstName: 'Bob' });
    const org = await clerk.organizations.createOrganization({ name: `Team ${uniq()}`, createdBy: ada.id });

    const m = await clerk.organizations.createOrganizationMembership({
      organizationId: org.id,
      userId: bob.id,
      role: 'org:member',
    });
    assert.match(m.id, idPattern('orgmem'));
    assert.equal(m.role, 'org:member');
    assert.deepEqual(m.permissions, ['org:sys_memberships:read']);
    assert.equal(m.organization.id, org.id);
    assert.equal(m.publicUserData.userId, bob.id);
    assert.equal(m.publicUserData.firstName, 'Bob');

    const list = await clerk.organizations.getOrganizationMembershipList({ organizationId: org.id, orderBy: 'first_name' });
    assert.equal(list.totalCount, 2);
    assert.deepEqual(
      list.data.map((x) => x.publicUserData.firstName),
      ['Ada', 'Bob'],
    );
    const bobs = await clerk.users.getOrganizationMembershipList({ userId: bob.id });
    assert.equal(bobs.totalCount, 1);
    assert.equal(bobs.data[0].organization.id, org.id);

    await expectApiError(
      clerk.organizations.updateOrganizationMembership({ organizationId: org.id, userId: ada.id, role: 'org:member' }),
      { status: 422, code: 'organization_minimum_permissions_needed' },
    );
    const promoted = await clerk.organizations.updateOrganizationMembership({
      organizationId: org.id,
      userId: bob.id,
      role: 'org:admin',
    });
    assert.equal(promoted.role, 'org:admin');
    const withMeta = await clerk.organizations.updateOrganizationMembershipMetadata({
      organizationId: org.id,
      userId: bob.id,
      publicMetadata: { lead: true },
    });
    assert.deepEqual(withMeta.publicMetadata, { lead: true });
    const removed = await clerk.organizations.deleteOrganizationMembership({ organizationId: org.id, userId: ada.id });
    assert.equal(removed.publicUserData.userId, ada.id);
    const after = await clerk.organizations.getOrganization({ organizationId: org.id, includeMembersCount: true });
    assert.equal(after.membersCount, 1);
    await clerk.organizations.deleteOrganization(org.id);
  });

  test('the active organization in the session token: orgId, orgSlug, orgRole and has()', async () => {
    const { user: ada } = await createTestUser({ firstName: 'Ada' });
    const { user: bob } = await createTestUser({ firstName: 'Bob' });
    const slug = `tok-${uniq()}`;
    const org = await clerk.organizations.createOrganization({ name: 'Token Org', slug, createdBy: ada.id });
    await clerk.organizations.createOrganizationMembership({ organizationId: org.id, userId: bob.id, role: 'org:member' });
    const session = await clerk.sessions.createSession({ userId: bob.id, activeOrganizationId: org.id });

    let auth = await authOf((await clerk.sessions.getToken(session.id)).jwt);
    assert.equal(auth.orgId, org.id);
    assert.equal(auth.orgSlug, slug);
    assert.equal(auth.orgRole, 'org:member');
    assert.deepEqual(auth.orgPermissions, []);
    assert.equal(auth.has({ role: 'org:member' }), true);
    assert.equal(auth.has({ role: 'member' }), true);
    assert.equal(auth.has({ role: 'org:admin' }), false);
    assert.equal(auth.has({ permission: 'org:sys_memberships:manage' }), false, 'system permissions stay out of tokens');

    // Promoted: the next token says so at once.
    await clerk.organizations.updateOrganizationMembership({ organizationId: org.id, userId: bob.id, role: 'org:admin' });
    auth = await authOf((await clerk.sessions.getToken(session.id)).jwt);
    assert.equal(auth.orgRole, 'org:admin');
    assert.equal(auth.has({ role: 'org:admin' }), true);

    // Removed: no organization in the token.
    await clerk.organizations.deleteOrganizationMembership({ organizationId: org.id, userId: bob.id });
    auth = await authOf((await clerk.sessions.getToken(session.id)).jwt);
    assert.equal(auth.orgId, undefined);
    assert.equal(auth.has({ role: 'org:admin' }), false);
    await clerk.organizations.deleteOrganization(org.id);
  });

  test('custom roles and permissions: has({ permission }) on the token, role sets', async () => {
    const s = uniq().replace(/[^a-z0-9]/g, '');
    const read = await clerk.organizationPermissions.createOrganizationPermission({ name: 'Read', key: `org:reports${s}:read` });
    const edit = await clerk.organizationPermissions.createOrganizationPermission({ name: 'Edit', key: `org:reports${s}:edit` });
    assert.match(read.id, idPattern('perm'));
    const role = await clerk.organizationRoles.createOrganizationRole({
      name: 'Analyst',
      key: `org:analyst${s}`,
      permissions: [read.id],
      includeInInitialRoleSet: true,
    });
    assert.match(role.id, idPattern('role'));
    assert.deepEqual(role.permissions.map((p) => p.key), [read.key]);
    const listed = await clerk.organizationRoles.getOrganizationRoleList({ query: role.key });
    assert.equal(listed.totalCount, 1);

    const { user: ada } = await createTestUser({ firstName: 'Ada' });
    const { user: bob } = await createTestUser({ firstName: 'Bob' });
    const org = await clerk.organizations.createOrganization({ name: 'Reports Org', createdBy: ada.id });
    await clerk.organizations.createOrganizationMembership({ organizationId: org.id, userId: bob.id, role: role.key });
    const session = await clerk.sessions.createSession({ userId: bob.id, activeOrganizationId: org.id });

    let auth = await authOf((await clerk.sessions.getToken(session.id)).jwt);
    assert.equal(auth.orgRole, role.key);
    assert.deepEqual(auth.orgPermissions, [read.key]);
    assert.equal(auth.has({ permission: read.key }), true);
    assert.equal(auth.has({ permission: edit.key }), false);

    // Granted to the role: the next token carries it.
    await clerk.organizationRoles.assignPermissionToOrganizationRole({ organizationRoleId: role.id, permissionId: edit.id });
    auth = await authOf((await clerk.sessions.getToken(session.id)).jwt);
    assert.equal(auth.has({ permission: edit.key }), true);
    assert.deepEqual([...auth.orgPermissions].sort(), [edit.key, read.key].sort());

    const set = await clerk.roleSets.getRoleSet('role_set:default');
    assert.ok(set.roles.some((r) => r.key === role.key), 'included in the initial role set');
    await clerk.organizations.deleteOrganization(org.id);
    const after = await clerk.roleSets.replaceRoleInRoleSet({ roleSetKeyOrId: 'role_set:default', roleKey: role.key, toRoleKey: 'org:member' });
    assert.ok(!after.roles.some((r) => r.key === role.key));
    const gone = await clerk.organizationRoles.deleteOrganizationRole(role.id);
    assert.equal(gone.deleted, true);
  });
});
