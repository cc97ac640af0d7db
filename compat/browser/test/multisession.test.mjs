// (d) Multi-session: two users signed in on one client; setActive switches
// which user the session token is for. Users are created with @clerk/backend.
import { after, before, describe, test } from 'node:test';

import {
  activateAndVerify,
  assert,
  backend,
  ClerkPage,
  signInWithPassword,
  strongPassword,
  uniqueEmail,
} from './helpers.mjs';

describe('multi-session', () => {
  let s;
  const users = [];

  before(async () => {
    s = await ClerkPage.open('multisession');
    for (const label of ['A', 'B']) {
      const email = uniqueEmail();
      const password = strongPassword();
      const u = await backend().users.createUser({ emailAddress: [email], password, firstName: `User${label}` });
      users.push({ id: u.id, email, password });
    }
  });
  after(() => s?.close());

  test('two users signed in on one client', async () => {
    await s.step('sign-in-both', async () => {
      await s.goto();
      await s.load();
      for (const u of users) {
        const si = await signInWithPassword(s, { identifier: u.email, password: u.password });
        assert.equal(si.status, 'complete', `sign-in of ${u.email}: ${JSON.stringify(si)}`);
        u.sessionId = si.createdSessionId;
        await s.run(async (clerk, a) => clerk.setActive({ session: a.sid }).then(() => null), { sid: u.sessionId });
      }
      const st = await s.state();
      assert.equal(st.signedInSessions.length, 2, `clerk.client.signedInSessions: ${JSON.stringify(st.signedInSessions)}`);
      assert.deepEqual(
        st.signedInSessions.map((x) => x.userId).sort(),
        users.map((u) => u.id).sort(),
        'the two sessions belong to the two users',
      );
      await s.screenshot('two-sessions');
    });
  });

  test('setActive to each session switches the token sub', async () => {
    assert.ok(users.every((u) => u.sessionId), 'both users need a session');
    await s.step('switch', async () => {
      for (const u of [users[0], users[1], users[0]]) {
        const claims = await activateAndVerify(s, u.sessionId);
        assert.equal(claims.sub, u.id, `sub after setActive(${u.sessionId})`);
        assert.equal(claims.sid, u.sessionId, 'sid');
        assert.equal((await s.state()).userId, u.id, 'clerk.user follows the active session');
      }
    });
  });
});
