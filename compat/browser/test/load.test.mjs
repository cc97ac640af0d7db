// (a) clerk-js loads against the server: Clerk.load() reaches status "ready"
// (loaded === true) and clerk.client exists. Also with @clerk/ui passed in, and
// with both bundles (and their chunks) served by Tessera under /npm/.
import { after, before, describe, test } from 'node:test';

import { assert, ClerkPage, env, mount, UI_TIMEOUT } from './helpers.mjs';

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

  test('reaches ready with both bundles served by Tessera under /npm/', async () => {
    await s.step('load-served', async () => {
      await s.goto({ ui: true, served: true });
      const st = await s.load({ ui: true });
      assertReady(st);
      await assertAnswered(s);
      assert.equal(st.uiVersion, '1.34.0', 'clerk.uiVersion');
      // Mounting <SignIn/> loads the UI's chunks, from beside the bundle: Tessera.
      const root = await mount(s, 'signIn');
      await s.page
        .locator(`${root} .cl-signIn-start input[name="identifier"]`)
        .waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('loaded-served');
      const bundleFiles = s.requests
        .slice(s.since)
        .filter((r) => new URL(r.url).pathname.startsWith('/npm/@clerk/'));
      const calls = bundleFiles.map((r) => `${r.status} ${new URL(r.url).pathname}`).join('\n  ');
      assert.ok(bundleFiles.some((r) => r.url.endsWith('/clerk.browser.js') && r.status === 200), `clerk.browser.js from Tessera:\n  ${calls}`);
      assert.ok(bundleFiles.some((r) => r.url.endsWith('/ui.browser.js') && r.status === 200), `ui.browser.js from Tessera:\n  ${calls}`);
      assert.ok(bundleFiles.length > 2, `chunk files from Tessera too:\n  ${calls}`);
      assert.ok(bundleFiles.every((r) => r.status === 200), `every bundle file answered 200:\n  ${calls}`);
      assert.deepEqual(s.pageErrors, [], 'uncaught errors in the page');
    });
  });
});
