// (f) An app's own backend: an Express app with the official @clerk/express
// clerkMiddleware serves the page. Page requests that arrive without a usable
// __session cookie go through the handshake (`GET /v1/client/handshake` on
// Tessera, the nonce redeemed with `GET /v1/clients/handshake_payload`) and
// come back with fresh cookies, signed in or signed out as the client is.
import { after, before, describe, test } from 'node:test';
import { createServer } from 'node:http';

import { clerkMiddleware, createClerkClient, getAuth } from '@clerk/express';
import express from 'express';

import { listen, pageHandler } from '../lib/page-server.mjs';
import { assert, backend, ClerkPage, env, signInWithPassword, strongPassword, uniqueEmail } from './helpers.mjs';

/** The app: clerkMiddleware on every request, `/whoami` answers from getAuth. */
function startApp() {
  const app = express();
  app.use(
    clerkMiddleware({
      clerkClient: createClerkClient({ secretKey: env.sk, publishableKey: env.pk, apiUrl: env.url }),
      publishableKey: env.pk,
      secretKey: env.sk,
      proxyUrl: env.url,
    }),
  );
  app.get('/whoami', (req, res) => {
    const auth = getAuth(req);
    res.json({ userId: auth.userId ?? null, sessionId: auth.sessionId ?? null });
  });
  app.use(pageHandler({ publishableKey: env.pk, proxyUrl: env.url }));
  return listen(createServer(app));
}

describe('handshake with @clerk/express', () => {
  let app;
  let s;
  let user;
  const navigations = [];

  before(async () => {
    app = await startApp();
    s = await ClerkPage.open('handshake', { origin: app.origin });
    s.page.on('request', (r) => {
      if (r.isNavigationRequest() && r.frame() === s.page.mainFrame()) navigations.push(r.url());
    });
    const email = uniqueEmail();
    const password = strongPassword();
    const u = await backend().users.createUser({ emailAddress: [email], password });
    user = { id: u.id, email, password };
  });
  after(async () => {
    await s?.close();
    await app?.close();
  });

  /** Navigates to `path`; returns the final JSON body and the navigation chain. */
  async function visit(path) {
    navigations.length = 0;
    const resp = await s.page.goto(`${app.origin}${path}`, { waitUntil: 'load', timeout: 30_000 });
    const body = path.startsWith('/whoami') ? await resp.json() : null;
    return { body, chain: navigations.slice(), finalUrl: s.page.url() };
  }

  const handshakes = (chain) => chain.filter((u) => u.startsWith(`${env.url}/v1/client/handshake?`));

  async function dropSessionCookie() {
    await s.page.goto('about:blank');
    await s.context.clearCookies({ name: /^__session/ });
  }

  test('a new browser gets its development cookies through a handshake', async () => {
    await s.step('first-visit', async () => {
      const { chain, finalUrl } = await visit('/');
      assert.equal(handshakes(chain).length, 1, `one handshake: ${chain.join(' -> ')}`);
      assert.equal(finalUrl, `${app.origin}/`, 'back on the clean page URL');
      const names = (await s.context.cookies(app.origin)).map((c) => c.name);
      assert.ok(names.includes('__clerk_db_jwt'), `development browser cookie: ${names}`);
      const again = await visit('/whoami');
      assert.equal(handshakes(again.chain).length, 0, `no second handshake: ${again.chain.join(' -> ')}`);
      assert.deepEqual(again.body, { userId: null, sessionId: null });
    });
  });

  test('signed in with clerk-js, the app sees the user', async () => {
    await s.step('sign-in', async () => {
      await s.goto();
      await s.load();
      const si = await signInWithPassword(s, { identifier: user.email, password: user.password });
      assert.equal(si.status, 'complete', JSON.stringify(si));
      user.sessionId = si.createdSessionId;
      await s.run(async (clerk, a) => clerk.setActive({ session: a.sid }).then(() => null), { sid: si.createdSessionId });
      const { body, chain } = await visit('/whoami');
      assert.equal(handshakes(chain).length, 0, `cookies from clerk-js suffice: ${chain.join(' -> ')}`);
      assert.deepEqual(body, { userId: user.id, sessionId: user.sessionId });
    });
  });

  test('a missing session cookie is restored by a handshake', async () => {
    await s.step('restore', async () => {
      await dropSessionCookie();
      const { body, chain, finalUrl } = await visit('/whoami?x=1');
      assert.equal(handshakes(chain).length, 1, `handshake: ${chain.join(' -> ')}`);
      assert.ok(chain.some((u) => u.includes('__clerk_handshake_nonce=')), 'back with a nonce');
      assert.equal(finalUrl, `${app.origin}/whoami?x=1`, 'the nonce is removed from the URL');
      assert.deepEqual(body, { userId: user.id, sessionId: user.sessionId });
      const names = (await s.context.cookies(app.origin)).map((c) => c.name);
      assert.ok(names.includes('__session'), `a fresh __session cookie: ${names}`);
    });
  });

  test('after the session is revoked, the handshake signs the app out', async () => {
    await s.step('revoked', async () => {
      await backend().sessions.revokeSession(user.sessionId);
      await dropSessionCookie();
      const { body, chain } = await visit('/whoami');
      assert.equal(handshakes(chain).length, 1, `handshake: ${chain.join(' -> ')}`);
      assert.deepEqual(body, { userId: null, sessionId: null });
      const uat = (await s.context.cookies(app.origin)).find((c) => c.name === '__client_uat');
      assert.equal(uat?.value, '0', '__client_uat is 0');
    });
  });
});
