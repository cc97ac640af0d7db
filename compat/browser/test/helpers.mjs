// Shared setup for the browser suite (not a test file itself).
//
// Environment (compat/browser/run sets all of it):
//   TESSERA_URL             FAPI origin, used as the page's proxy URL (http://127.0.0.1:PORT)
//   TESSERA_PK              publishable key
//   TESSERA_SK              secret key (Backend API calls from the test process)
//   TESSERA_PUBLIC_KEY_PEM  instance public key, for networkless verifyToken
//   SMTP_SINK_PORT          port of the SMTP sink the server sends mail to
//   SMTP_SINK_DIR           mailbox folder that sink writes (lib/smtp-sink.mjs)
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';

import { createClerkClient, verifyToken } from '@clerk/backend';

import { BrowserSession } from '../lib/browser.mjs';
import { extractCode, waitForEmail as waitInMailbox } from '../lib/mailbox.mjs';
import { startPageServer } from '../lib/page-server.mjs';

export { assert, extractCode };

export const env = {
  url: (process.env.TESSERA_URL || '').replace(/\/+$/, ''),
  pk: process.env.TESSERA_PK || '',
  sk: process.env.TESSERA_SK || '',
  pem: process.env.TESSERA_PUBLIC_KEY_PEM || '',
  smtpPort: process.env.SMTP_SINK_PORT || '',
  mailDir: process.env.SMTP_SINK_DIR || '',
};

function requireEnv(...names) {
  const missing = names.filter((n) => !process.env[n]);
  if (missing.length) throw new Error(`missing environment: ${missing.join(', ')} (run the suite with compat/browser/run)`);
}

// --- test data ----------------------------------------------------------------

/** A unique address at example.com (no `+clerk_test`: the code must come by email). */
export function uniqueEmail() {
  return `u${Date.now().toString(36)}${randomBytes(4).toString('hex')}@example.com`;
}

/** A password that passes common strength rules and no breach list holds. */
export function strongPassword() {
  return `Tb-${randomBytes(10).toString('base64url')}-42!`;
}

// --- email --------------------------------------------------------------------

/** The next email to `to` that reached the SMTP sink (see lib/mailbox.mjs). */
export function waitForEmail(to, opts) {
  return waitInMailbox(env.mailDir, to, opts);
}

/** The 6-digit code of the next email to `to`. */
export async function waitForCode(to, opts) {
  return extractCode(await waitForEmail(to, opts));
}

// --- Backend API and tokens -----------------------------------------------------

/** @clerk/backend client for the server under test (BAPI on the same origin). */
export function backend() {
  requireEnv('TESSERA_URL', 'TESSERA_SK');
  return createClerkClient({ secretKey: env.sk, apiUrl: env.url, telemetry: { disabled: true } });
}

/** PATCH /v1/instance/settings with a partial settings document; the document after. */
export async function patchSettings(patch) {
  requireEnv('TESSERA_URL', 'TESSERA_SK');
  const resp = await fetch(`${env.url}/v1/instance/settings`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${env.sk}`, 'content-type': 'application/json' },
    body: JSON.stringify(patch),
  });
  const body = await resp.json();
  assert.equal(resp.status, 200, `PATCH /v1/instance/settings: ${JSON.stringify(body)}`);
  return body;
}

/** verifyToken with the instance public key (networkless); returns the claims. */
export function verifyJwt(jwt) {
  requireEnv('TESSERA_PUBLIC_KEY_PEM');
  return verifyToken(jwt, { jwtKey: env.pem });
}

// --- authenticator apps -----------------------------------------------------------

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 `secret`, `steps` steps from now. */
export function totpCode(secret, steps = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/=+$/, '').toUpperCase()) {
    bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + steps));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

// --- the page -----------------------------------------------------------------

let pageServer; // one static server per test process
function pageOrigin() {
  pageServer ??= startPageServer({ publishableKey: env.pk, proxyUrl: env.url });
  return pageServer.then((s) => s.origin);
}

/** An error thrown inside the page, with a ClerkAPIResponseError's fields when it was one. */
export class PageError extends Error {
  constructor(e) {
    const codes = e.errors?.map((x) => x.code).join(', ');
    super(`in page: ${e.name}: ${e.message}${e.status ? ` (HTTP ${e.status})` : ''}${codes ? ` [${codes}]` : ''}`);
    this.name = 'PageError';
    Object.assign(this, { pageName: e.name, status: e.status, errors: e.errors, clerkTraceId: e.clerkTraceId });
  }
}

// Runs in the page before any of its scripts, on every load: navigation log
// (clerk-js calls routerPush/Replace instead of leaving the page) and a snapshot
// of the Clerk state that the tests compare.
function pageInit() {
  window.__tessera = {
    navigations: [],
    state() {
      const c = window.Clerk;
      return {
        status: c?.status ?? null,
        loaded: c?.loaded ?? null,
        hasClient: !!c?.client,
        clientId: c?.client?.id ?? null,
        userId: c?.user?.id ?? null,
        email: c?.user?.primaryEmailAddress?.emailAddress ?? null,
        sessionId: c?.session?.id ?? null,
        signedInSessions: (c?.client?.signedInSessions ?? []).map((s) => ({ id: s.id, userId: s.user?.id ?? null })),
        uiVersion: c?.uiVersion ?? null,
        navigations: window.__tessera.navigations.slice(),
      };
    },
  };
}

/**
 * A fresh Chromium on the test page. `name` prefixes the artifact files.
 * Methods: goto, load, reload, run, state, step, screenshot, close.
 */
export class ClerkPage extends BrowserSession {
  static async open(name, { origin: pageAt, args, watchOrigin = env.url } = {}) {
    requireEnv('TESSERA_URL', 'TESSERA_PK');
    const origin = pageAt ?? (await pageOrigin());
    const s = await ClerkPage.launch(name, { watchOrigin, args });
    s.origin = origin;
    await s.context.addInitScript(pageInit);
    return s;
  }

  /** Opens the test page (with @clerk/ui's bundle when `ui`); Clerk is not loaded yet. */
  async goto({ ui = false, served = false } = {}) {
    this.ui = ui;
    this.since = this.requests.length; // requests of this page load start here
    const query = new URLSearchParams();
    if (ui) query.set('ui', '1');
    if (served) query.set('served', '1');
    const qs = query.toString();
    await this.page.goto(`${this.origin}/${qs ? `?${qs}` : ''}`, { waitUntil: 'load', timeout: 30_000 });
    const ok = await this.page.evaluate(() => typeof window.Clerk === 'object' && window.Clerk !== null);
    assert.ok(ok, 'clerk.browser.js did not create window.Clerk');
  }

  /**
   * Runs `fn(window.Clerk, arg)` in the page and returns its (JSON-able) result.
   * `fn` must be a self-contained function expression (it is sent as source).
   * A throw in the page becomes a PageError with `.errors` (Clerk API errors).
   */
  async run(fn, arg = null, { timeoutMs = 30_000 } = {}) {
    const call = this.page.evaluate(
      async ({ src, arg: a }) => {
        const f = (0, eval)(`(${src})`);
        try {
          return { ok: true, value: await f(window.Clerk, a) };
        } catch (e) {
          const errors = Array.isArray(e?.errors)
            ? e.errors.map((x) => ({ code: x.code, message: x.message, longMessage: x.longMessage, meta: x.meta }))
            : undefined;
          return {
            ok: false,
            error: { name: e?.name, message: String(e?.message ?? e), status: e?.status, clerkTraceId: e?.clerkTraceId, errors },
          };
        }
      },
      { src: fn.toString(), arg },
    );
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`in-page call did not settle within ${timeoutMs} ms:\n${fn}`)), timeoutMs);
    });
    try {
      const res = await Promise.race([call, timeout]);
      if (!res.ok) throw new PageError(res.error);
      return res.value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Screenshot with the Clerk state printed under the mount point (see pageInit). */
  async screenshot(label) {
    await this.page
      .evaluate(() => {
        let pre = document.getElementById('tessera-state');
        if (!pre) {
          pre = document.createElement('pre');
          pre.id = 'tessera-state';
          pre.style.cssText = 'font-size:11px;color:#444;white-space:pre-wrap';
          document.body.append(pre);
        }
        pre.textContent = `Clerk state: ${JSON.stringify(window.__tessera?.state(), null, 1)}`;
      })
      .catch(() => {});
    return super.screenshot(label);
  }

  /** Snapshot of the Clerk state (see pageInit). */
  state() {
    return this.page.evaluate(() => window.__tessera.state());
  }

  /**
   * `await window.Clerk.load(options)`; with `ui` the prebuilt components come
   * from @clerk/ui: `Clerk.load({ ui: { ClerkUI: window.__internal_ClerkUICtor } })`
   * (the constructor that ui.browser.js defines). Navigation is kept in the page
   * (routerPush/routerReplace only record it). Returns the state snapshot.
   */
  async load({ ui = this.ui ?? false, timeoutMs = 30_000 } = {}) {
    await this.run(
      async (clerk, { ui: withUi }) => {
        const record = (to) => {
          window.__tessera.navigations.push(String(to));
        };
        const options = { telemetry: false, routerPush: record, routerReplace: record };
        if (withUi) {
          if (!window.__internal_ClerkUICtor) throw new Error('ui.browser.js did not define window.__internal_ClerkUICtor');
          options.ui = { ClerkUI: window.__internal_ClerkUICtor };
        }
        await clerk.load(options);
      },
      { ui },
      { timeoutMs },
    );
    return this.state();
  }

  /** page.reload() and Clerk.load() again (same ui variant). */
  async reload() {
    await this.page.reload({ waitUntil: 'load', timeout: 30_000 });
    return this.load();
  }
}

// --- flows through clerk-js (the issue's proof steps) ---------------------------------

/**
 * Email + password sign-up with the email code read from the real email, then
 * setActive. Asserts each stage; returns { userId, sessionId, signUpId }.
 */
export async function signUpWithEmailCode(s, { email, password }) {
  const prepared = await s.run(
    async (clerk, a) => {
      const created = await clerk.client.signUp.create({ emailAddress: a.email, password: a.password });
      const su = await created.prepareEmailAddressVerification({ strategy: 'email_code' });
      return {
        id: su.id,
        status: su.status,
        emailAddress: su.emailAddress,
        unverifiedFields: su.unverifiedFields,
        verification: su.verifications?.emailAddress?.status ?? null,
      };
    },
    { email, password },
  );
  assert.match(String(prepared.id), /^sua_/, `sign-up id: ${JSON.stringify(prepared)}`);
  assert.equal(prepared.status, 'missing_requirements', `sign-up after prepare: ${JSON.stringify(prepared)}`);
  assert.ok(prepared.unverifiedFields?.includes('email_address'), `unverified_fields: ${JSON.stringify(prepared)}`);
  assert.equal(prepared.emailAddress, email);

  const code = await waitForCode(email);
  const done = await s.run(
    async (clerk, a) => {
      const su = await clerk.client.signUp.attemptEmailAddressVerification({ code: a.code });
      return { status: su.status, createdSessionId: su.createdSessionId, createdUserId: su.createdUserId };
    },
    { code },
  );
  assert.equal(done.status, 'complete', `sign-up after attempt: ${JSON.stringify(done)}`);
  assert.match(String(done.createdSessionId), /^sess_/, `created_session_id: ${JSON.stringify(done)}`);
  assert.match(String(done.createdUserId), /^user_/, `created_user_id: ${JSON.stringify(done)}`);

  await s.run(async (clerk, a) => clerk.setActive({ session: a.sid }).then(() => null), { sid: done.createdSessionId });
  const st = await s.state();
  assert.equal(st.sessionId, done.createdSessionId, `active session after setActive: ${JSON.stringify(st)}`);
  return { userId: done.createdUserId, sessionId: done.createdSessionId, signUpId: prepared.id };
}

/** signIn.create({ identifier, password }); returns { status, createdSessionId, id }. */
export function signInWithPassword(s, { identifier, password }) {
  return s.run(
    async (clerk, a) => {
      const si = await clerk.client.signIn.create({ identifier: a.identifier, password: a.password });
      return { id: si.id, status: si.status, createdSessionId: si.createdSessionId };
    },
    { identifier, password },
  );
}

/** setActive({ session }) and the `sub`/`sid` of a fresh session token, verified. */
export async function activateAndVerify(s, sessionId) {
  const jwt = await s.run(
    async (clerk, a) => {
      await clerk.setActive({ session: a.sid });
      return clerk.session.getToken();
    },
    { sid: sessionId },
  );
  assert.equal(typeof jwt, 'string', `getToken() returned ${jwt}`);
  return verifyJwt(jwt);
}

/** clerk.signOut(); asserts that no user is left signed in. */
export async function signOut(s) {
  await s.run(async (clerk) => clerk.signOut().then(() => null));
  const st = await s.state();
  assert.equal(st.userId, null, `still signed in after signOut(): ${JSON.stringify(st)}`);
}

// --- prebuilt components (@clerk/ui) -------------------------------------------

/** How long a component may take to show its next card. */
export const UI_TIMEOUT = 30_000;

/**
 * Presses a button from the keyboard once it can be used. @clerk/ui scrolls a
 * profile card into view, smoothly, 300 ms after the card opens; a mouse click
 * in that window can land where the button was a moment before and do nothing.
 * Focus and Enter reach the button wherever it is.
 */
export async function press(button, { timeout = UI_TIMEOUT } = {}) {
  await button.click({ trial: true, timeout }); // visible, stable, enabled
  await button.press('Enter', { timeout });
}

/** Mounts a component into a fresh <div id="mount-..."> and returns its CSS selector. */
export async function mount(s, kind) {
  return s.run(
    async (clerk, k) => {
      const div = document.createElement('div');
      div.id = `mount-${k}-${Date.now()}`;
      document.getElementById('mount').replaceChildren(div);
      if (k === 'signUp') clerk.mountSignUp(div, { routing: 'hash' });
      else clerk.mountSignIn(div, { routing: 'hash' });
      return `#${div.id}`;
    },
    kind,
  );
}

/** Types `identifier` and `password` into a mounted <SignIn/> and submits both cards. */
export async function typeSignIn(s, root, { identifier, password }) {
  const start = s.page.locator(`${root} .cl-signIn-start`);
  await start.locator('input[name="identifier"]').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
  await start.locator('input[name="identifier"]').fill(identifier);
  await start.locator('.cl-formButtonPrimary').click();
  const pw = s.page.locator(`${root} .cl-signIn-password`);
  await pw.locator('input[name="password"]').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
  await pw.locator('input[name="password"]').fill(password);
  await pw.locator('.cl-formButtonPrimary').click();
}

/** Unmounts the component so that the screenshot shows the signed-in state. */
export function unmount(s, kind, root) {
  return s.run(
    async (clerk, a) => {
      const div = document.querySelector(a.root);
      if (a.kind === 'signUp') clerk.unmountSignUp(div);
      else clerk.unmountSignIn(div);
      div.textContent = `Signed in as ${clerk.user?.primaryEmailAddress?.emailAddress}`;
      return null;
    },
    { kind, root },
  );
}

/** Waits until clerk.user has the given primary email (set by the component's setActive). */
export function waitForUser(s, email) {
  return s.page.waitForFunction(
    (e) => window.Clerk?.user?.primaryEmailAddress?.emailAddress === e,
    email,
    { timeout: UI_TIMEOUT },
  );
}
