// (a) clerk-js loads against the server: Clerk.load() reaches status "ready"
// (loaded === true) and clerk.client exists. Also with @clerk/ui passed in.
import { after, before, describe, test } from 'node:test';

import { assert, ClerkPage, env } from './helpers.mjs';

// `loaded` alone is not enough: when the server's answers are unusable clerk-js
// 6.40 ends in status "degraded" with loaded === true and a placeholder client.
function assertReady(st) {
  assert.equal(st.status, 'ready', `Clerk.status after load(): ${JSON.stringify(st)}`);
  assert.equal(st.loaded, true, 'Clerk.loaded');
  assert.ok(st.hasClient, `clerk.client is missing: ${JSON.stringify(st)}`);
}

// ... and it is "ready" even when every call failed (network error, CORS), so the
// environment (a dev instance touches it: POST ?_method=PATCH) and the client
// must have been answered 2xx.
async function assertAnswered(s) {
  await s.idle();
  const ok = (re) =>
    s.requests.slice(s.since).some((r) => re.test(`${r.method} ${new URL(r.url).pathname}`) && r.status >= 200 && r.status < 300);
  const calls = `calls to ${env.url}:\n  ${s.requestSummary(20).join('\n  ') || 'none'}`;
  assert.ok(ok(/^(GET|POST) \/v1\/environment$/), `the environment request was not answered 2xx; ${calls}`);
  assert.ok(ok(/^GET \/v1\/client$/), `GET /v1/client was not answered 2xx; ${calls}`);
}

describe('clerk.load()', () => {
  let s;
  before(async () => {
    s = await ClerkPage.open('load');
  });
  after(() => s?.close());

  test('reaches ready with a client', async () => {
    await s.step('load', async () => {
      await s.goto();
      const st = await s.load();
      assertReady(st);
      await assertAnswered(s);
      assert.deepEqual(s.pageErrors, [], 'uncaught errors in the page');
      await s.screenshot('loaded');
    });
  });

  test('reaches ready with @clerk/ui passed as { ui: { ClerkUI } }', async () => {
    await s.step('load-ui', async () => {
      await s.goto({ ui: true });
      const st = await s.load({ ui: true });
      assertReady(st);
      await assertAnswered(s);
      assert.equal(st.uiVersion, '1.34.0', 'clerk.uiVersion');
      await s.screenshot('loaded-ui');
    });
  });
});
