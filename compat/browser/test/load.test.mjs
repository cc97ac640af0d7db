// (a) clerk-js loads against the server: Clerk.load() reaches status "ready"
// (loaded === true) and clerk.client exists. Also with @clerk/ui passed in.
import { after, before, describe, test } from 'node:test';

import { assert, ClerkPage, env } from './helpers.mjs';

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
      assert.ok(st.status === 'ready' || st.loaded === true, `Clerk status ${st.status}, loaded ${st.loaded}`);
      assert.ok(st.hasClient, `clerk.client is missing: ${JSON.stringify(st)}`);
      assert.deepEqual(s.pageErrors, [], 'uncaught errors in the page');
      // What clerk-js put on the wire: the dev-instance environment touch and the client.
      const seen = s.requests.map((r) => `${r.method} ${new URL(r.url).pathname}${new URL(r.url).search.includes('_method=PATCH') ? ' (PATCH)' : ''}`);
      assert.ok(seen.some((x) => x.startsWith('POST /v1/environment') || x.startsWith('GET /v1/environment')), `no environment request to ${env.url}: ${seen}`);
      assert.ok(seen.includes('GET /v1/client'), `no GET /v1/client: ${seen}`);
      await s.screenshot('loaded');
    });
  });

  test('reaches ready with @clerk/ui passed as { ui: { ClerkUI } }', async () => {
    await s.step('load-ui', async () => {
      await s.goto({ ui: true });
      const st = await s.load({ ui: true });
      assert.ok(st.status === 'ready' || st.loaded === true, `Clerk status ${st.status}, loaded ${st.loaded}`);
      assert.ok(st.hasClient, 'clerk.client is missing');
      assert.equal(st.uiVersion, '1.34.0', 'clerk.uiVersion');
      await s.screenshot('loaded-ui');
    });
  });
});
