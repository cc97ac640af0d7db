// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core,
// with everything a failing test needs recorded: console messages, uncaught
// page errors, and every request/response to the server under test.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// Without the networking flags Chromium stalls on this closed network.
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const ARTIFACTS = process.env.BROWSER_ARTIFACTS_DIR || join(HERE, '..', '..', 'artifacts', 'browser');

const slug = (s) => String(s).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80);
const BODY_MAX = 4000;
const RECORDS = new WeakMap(); // playwright Request -> our record

/**
 * A fresh Chromium (own --user-data-dir, removed on close) with one page.
 * `watchOrigin`: requests whose URL starts with it are logged with bodies.
 */
export class BrowserSession {
  static async launch(name, { watchOrigin, args = [] }) {
    const userDataDir = mkdtempSync(join(tmpdir(), 'tessera-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_FLAGS, ...args],
      viewport: { width: 1100, height: 900 },
      timeout: 60_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    return new this(name, context, page, userDataDir, watchOrigin);
  }

  constructor(name, context, page, userDataDir, watchOrigin) {
    this.name = slug(name);
    this.context = context;
    this.page = page;
    this.userDataDir = userDataDir;
    this.watchOrigin = watchOrigin;
    this.t0 = Date.now();
    this.lines = []; // the whole log, in order
    this.consoleErrors = []; // console.error texts
    this.pageErrors = []; // uncaught exceptions in the page
    this.requests = []; // { method, url, postData, status, body } for watchOrigin
    this.pending = new Set(); // response-body reads still running
    this.failed = false;
    this.#wire();
  }

  #log(line) {
    this.lines.push(`[+${((Date.now() - this.t0) / 1000).toFixed(3)}s] ${line}`);
  }

  #wire() {
    const { page, context } = this;
    page.on('console', (m) => {
      this.#log(`console.${m.type()}: ${m.text()}`);
      if (m.type() === 'error') this.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => {
      this.#log(`pageerror: ${e.stack || e.message}`);
      this.pageErrors.push(e.message);
    });
    const watched = (url) => this.watchOrigin && url.startsWith(this.watchOrigin);
    context.on('request', (r) => {
      if (!watched(r.url())) return;
      const rec = { method: r.method(), url: r.url(), postData: r.postData() ?? null, status: null, body: null };
      this.requests.push(rec);
      RECORDS.set(r, rec);
      this.#log(`-> ${rec.method} ${rec.url}${rec.postData ? `\n     body: ${rec.postData.slice(0, BODY_MAX)}` : ''}`);
    });
    context.on('response', (res) => {
      const rec = RECORDS.get(res.request());
      if (!rec) return;
      rec.status = res.status();
      const read = res
        .text()
        .catch((e) => `<body not readable: ${e.message}>`)
        .then((body) => {
          rec.body = body;
          const cookies = res.headers()['set-cookie'];
          this.#log(
            `<- ${rec.status} ${rec.method} ${rec.url}` +
              `\n     access-control-allow-origin: ${res.headers()['access-control-allow-origin'] ?? '(none)'}` +
              (cookies ? `\n     set-cookie: ${cookies.replace(/\n/g, ' | ')}` : '') +
              `\n     body: ${String(body).slice(0, BODY_MAX)}`,
          );
        })
        .finally(() => this.pending.delete(read));
      this.pending.add(read);
    });
    context.on('requestfailed', (r) => {
      const rec = RECORDS.get(r);
      if (rec) rec.status = `failed: ${r.failure()?.errorText}`;
      this.#log(`xx ${r.method()} ${r.url()} failed: ${r.failure()?.errorText}`);
    });
  }

  /** Waits for the response bodies still being read (at most 2 s). */
  async idle() {
    await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => setTimeout(r, 2000))]);
  }

  /** One line per request to the server: `POST /v1/x (PATCH) -> 200`, the last `n`. */
  requestSummary(n = 12) {
    return this.requests.slice(-n).map((r) => {
      const u = new URL(r.url);
      const tunnel = u.searchParams.get('_method');
      return `${r.method} ${u.pathname}${tunnel ? ` (${tunnel})` : ''} -> ${r.status ?? 'no response'}`;
    });
  }

  /** Writes a screenshot to the artifacts folder; returns its path. */
  async screenshot(label) {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, `${this.name}--${slug(label)}.png`);
    await this.page.screenshot({ path: file, fullPage: true, timeout: 15_000 });
    this.#log(`screenshot: ${file}`);
    return file;
  }

  /** Writes the log (console, page errors, network) to the artifacts folder. */
  async writeLog(label = 'log', extra = '') {
    await this.idle();
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, `${this.name}--${slug(label)}.log`);
    writeFileSync(file, `${extra ? `${extra}\n\n` : ''}${this.lines.join('\n')}\n`);
    return file;
  }

  /**
   * Runs one step of a test; if it throws, saves `<name>--<label>-failure.png`
   * and `<name>--<label>.log` (with the error on top) and rethrows.
   */
  async step(label, fn) {
    this.#log(`=== step: ${label}`);
    try {
      return await fn();
    } catch (err) {
      this.failed = true;
      this.#log(`step failed: ${err?.stack || err}`);
      const shot = await this.screenshot(`${label}-failure`).catch((e) => `(no screenshot: ${e.message})`);
      const log = await this.writeLog(label, `FAILED: ${label}\n${err?.stack || err}`).catch(() => '(no log)');
      if (err && typeof err === 'object' && typeof err.message === 'string') {
        // clerk-js often resolves with an empty resource when a call failed, so
        // the wire is the first place to look.
        const calls = this.requestSummary();
        err.message +=
          `\n    last calls to the server:${calls.length ? calls.map((c) => `\n      ${c}`).join('') : ' none'}` +
          (this.pageErrors.length ? `\n    page errors: ${this.pageErrors.slice(-3).join(' | ')}` : '') +
          `\n    artifacts: ${shot}\n               ${log}`;
      }
      throw err;
    }
  }

  async close() {
    if (this.failed || process.env.BROWSER_KEEP_LOGS === '1') await this.writeLog('full').catch(() => {});
    await this.context.close().catch(() => {});
    rmSync(this.userDataDir, { recursive: true, force: true });
  }
}
