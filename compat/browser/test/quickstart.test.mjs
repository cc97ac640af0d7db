// (q) Clerk's Next.js quickstart against Tessera: the app in compat/quickstart/
// (next, @clerk/nextjs, an Express API with @clerk/express), configured only by
// environment and the middleware's `frontendApiProxy`, built here with this
// run's keys (NEXT_PUBLIC_* are baked in at build) and driven in Chromium:
// signed-out header, sign-up by the default Sign up button on the hosted page,
// <UserButton/> with its avatar, the server component's auth()/currentUser(),
// auth.protect() through the hosted sign-in and back, Express with the
// browser's cookie and a getToken() bearer, sign-out from the UserButton menu,
// redirectToUserProfile() onto the hosted profile page.
// The page reaches no host but the app, Express and Tessera.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { BrowserSession } from '../lib/browser.mjs';
import { assert, backend, env, strongPassword, UI_TIMEOUT, uniqueEmail, waitForCode } from './helpers.mjs';

const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'quickstart');
const NEXT = join(APP_DIR, 'node_modules', 'next', 'dist', 'bin', 'next');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a child process and resolves once `ready` answers 200 (30 s). */
async function startService(name, args, { cwd, env: extra, ready }) {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}):\n${output}`);
    const ok = await fetch(ready, { redirect: 'manual' }).then((r) => r.status < 500, () => false);
    if (ok) return { child, output: () => output };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not answer ${ready} within 30 s:\n${output}`);
}

describe('Next.js quickstart', () => {
  let app; // http://localhost:<port>
  let api; // Express: http://localhost:<port>
  let next;
  let express;
  let s;
  const seen = new Set(); // origins the page requested
  const email = uniqueEmail();
  const password = strongPassword();

  before(
    async () => {
      const [appPort, apiPort] = [await freePort(), await freePort()];
      app = `http://localhost:${appPort}`;
      api = `http://localhost:${apiPort}`;
      // What the README's "Use it with Next.js" section sets, nothing more.
      const appEnv = {
        NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY: env.pk,
        CLERK_SECRET_KEY: env.sk,
        CLERK_API_URL: env.url,
        CLERK_FAPI_URL: env.url,
        NEXT_PUBLIC_CLERK_PROXY_URL: '/__clerk',
        NEXT_PUBLIC_CLERK_SIGN_IN_URL: '/__clerk/sign-in',
        NEXT_PUBLIC_CLERK_SIGN_UP_URL: '/__clerk/sign-up',
        NEXT_TELEMETRY_DISABLED: '1',
        CLERK_TELEMETRY_DISABLED: '1',
      };
      const build = spawnSync(process.execPath, [NEXT, 'build'], {
        cwd: APP_DIR,
        env: { ...process.env, ...appEnv },
        encoding: 'utf8',
        timeout: 300_000,
      });
      assert.equal(build.status, 0, `next build failed:\n${build.stdout}\n${build.stderr}`);
      next = await startService('next start', [NEXT, 'start', '-p', String(appPort), '-H', 'localhost'], {
        cwd: APP_DIR,
        env: appEnv,
        ready: `${app}/__clerk/v1/environment`,
      });
      express = await startService('express', [join(APP_DIR, 'express', 'server.mjs')], {
        cwd: APP_DIR,
        env: {
          PORT: String(apiPort),
          CLERK_PUBLISHABLE_KEY: env.pk,
          CLERK_SECRET_KEY: env.sk,
          CLERK_API_URL: env.url,
          CLERK_TELEMETRY_DISABLED: '1',
        },
        ready: `${api}/api/whoami`,
      });
      s = await BrowserSession.launch('quickstart', { watchOrigin: app });
      s.context.on('request', (r) => {
        const u = new URL(r.url());
        if (u.protocol === 'http:' || u.protocol === 'https:') seen.add(u.origin);
      });
    },
    { timeout: 360_000 },
  );

  after(async () => {
    await s?.close();
    for (const p of [next, express]) p?.child.kill('SIGTERM');
  });

  test('the signed-out header renders its buttons', async () => {
    await s.step('signed-out', async () => {
      await s.page.goto(`${app}/`, { waitUntil: 'load', timeout: 30_000 });
      await s.page.getByRole('button', { name: 'Sign up' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.page.getByRole('button', { name: 'Sign in' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      assert.equal(await s.page.locator('#server-user-id').textContent(), 'signed out');
      await s.screenshot('signed-out');
    });
  });

  test('the default Sign up button reaches the hosted page and signs up with an emailed code', async () => {
    await s.step('sign-up', async () => {
      await s.page.getByRole('button', { name: 'Sign up' }).click();
      await s.page.waitForURL((u) => u.href.startsWith(`${app}/__clerk/sign-up`), { timeout: UI_TIMEOUT });
      const form = s.page.locator('.cl-signUp-start');
      await form.locator('input[name="emailAddress"]').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('hosted-sign-up');
      await form.locator('input[name="emailAddress"]').fill(email);
      await form.locator('input[name="password"]').fill(password);
      await form.locator('.cl-formButtonPrimary').click();
      await s.page.locator('input[autocomplete="one-time-code"]').first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      // The start step and the verify step may each send a code: the newest counts.
      const code = await waitForCode(email, { latest: true });
      await s.page.keyboard.type(code);
      await s.page.waitForURL((u) => u.origin === app && !u.pathname.startsWith('/__clerk'), { timeout: UI_TIMEOUT });
    });
  });

  test('<UserButton/> shows with its avatar, and the server component sees the user', async () => {
    await s.step('signed-in', async () => {
      const avatar = s.page.locator('.cl-userButtonTrigger img');
      await avatar.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await avatar.elementHandle(), {
        timeout: UI_TIMEOUT,
      });
      const { data } = await backend().users.getUserList({ emailAddress: [email] });
      assert.equal(data.length, 1, 'the user exists');
      await s.page.locator('#server-user-id').getByText(data[0].id).waitFor({ timeout: UI_TIMEOUT });
      assert.equal(await s.page.locator('#server-user-email').textContent(), email);
      await s.screenshot('signed-in');
    });
  });

  test('Express accepts the browser cookie and a getToken() bearer', async () => {
    await s.step('express', async () => {
      const userId = await s.page.evaluate(() => window.Clerk.user.id);
      // A document request from the browser: the __session cookie of localhost.
      await s.page.goto(`${api}/api/me`, { waitUntil: 'load', timeout: 30_000 });
      const byCookie = JSON.parse(await s.page.locator('body').textContent());
      assert.equal(byCookie.userId, userId, 'Express sees the user by cookie');
      await s.page.goto(`${app}/`, { waitUntil: 'load', timeout: 30_000 });
      await s.page.waitForFunction(() => window.Clerk?.loaded && window.Clerk.session, null, { timeout: UI_TIMEOUT });
      const token = await s.page.evaluate(() => window.Clerk.session.getToken());
      const byBearer = await fetch(`${api}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(byBearer.status, 200);
      assert.equal((await byBearer.json()).userId, userId, 'Express sees the user by bearer');
      const anonymous = await fetch(`${api}/api/me`, { headers: { accept: 'application/json' } });
      assert.notEqual(anonymous.status, 200, 'requireAuth() refuses a request without a session');
    });
  });

  test('sign-out through the UserButton menu', async () => {
    await s.step('sign-out', async () => {
      await s.page.locator('.cl-userButtonTrigger').click();
      await s.page.locator('.cl-userButtonPopoverActionButton__signOut').click();
      await s.page.getByRole('button', { name: 'Sign in' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.page.reload({ waitUntil: 'load' });
      await s.page.locator('#server-user-id').getByText('signed out').waitFor({ timeout: UI_TIMEOUT });
    });
  });

  test('auth.protect() sends a signed-out visitor to the hosted sign-in and back', async () => {
    await s.step('protect', async () => {
      await s.page.goto(`${app}/protected`, { waitUntil: 'load', timeout: 30_000 });
      await s.page.waitForURL((u) => u.href.startsWith(`${app}/__clerk/sign-in`), { timeout: UI_TIMEOUT });
      assert.equal(new URL(s.page.url()).searchParams.get('redirect_url'), `${app}/protected`);
      const start = s.page.locator('.cl-signIn-start');
      await start.locator('input[name="identifier"]').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('hosted-sign-in');
      await start.locator('input[name="identifier"]').fill(email);
      await start.locator('.cl-formButtonPrimary').click();
      const pw = s.page.locator('.cl-signIn-password');
      await pw.locator('input[name="password"]').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await pw.locator('input[name="password"]').fill(password);
      await pw.locator('.cl-formButtonPrimary').click();
      await s.page.waitForURL(`${app}/protected`, { timeout: UI_TIMEOUT });
      const userId = await s.page.locator('#protected-user-id').textContent();
      assert.match(userId, /^user_/, 'the protected page shows the user');
      await s.screenshot('protected');
    });
  });

  test("the environment's page URLs are the hosted pages under the proxy", async () => {
    await s.step('user-profile', async () => {
      await s.page.waitForFunction(() => window.Clerk?.loaded && window.Clerk.user, null, { timeout: UI_TIMEOUT });
      const urls = await s.page.evaluate(() => ({
        userProfile: window.Clerk.buildUserProfileUrl(),
        createOrganization: window.Clerk.buildCreateOrganizationUrl(),
      }));
      assert.equal(urls.userProfile, `${app}/__clerk/user`);
      assert.equal(urls.createOrganization, `${app}/__clerk/create-organization`);
      // The page navigates away while the call runs: its promise never settles here.
      await Promise.all([
        s.page.waitForURL((u) => u.href.startsWith(`${app}/__clerk/user`), { timeout: UI_TIMEOUT }),
        s.page.evaluate(() => void window.Clerk.redirectToUserProfile()).catch(() => {}),
      ]);
      await s.page.getByText(email).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await s.screenshot('hosted-user-profile');
    });
  });

  test('the page reached no host beyond the app, Express and Tessera', () => {
    const allowed = new Set([app, api, env.url]);
    const foreign = [...seen].filter((o) => !allowed.has(o));
    assert.deepEqual(foreign, [], `requests to ${foreign.join(', ')}`);
  });
});
