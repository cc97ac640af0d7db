#!/usr/bin/env node
// Checks the harness itself, without the real server:
//   1. the SMTP sink stores a message sent over SMTP and the mailbox helpers
//      find it and its 6-digit code;
//   2. against a fake that answers every FAPI call with an error, the load test
//      FAILS, after the browser really sent POST /v1/environment?..._method=PATCH
//      and GET /v1/client, and the failure left a screenshot and a log;
//   3. against a fake that implements just the suite's flows, the whole suite
//      (compat/browser/run, all test files) PASSES: page, clerk-js, @clerk/ui
//      selectors, emailed codes, token verification.
// Artifacts go to compat/artifacts/browser-selfcheck/{errors,flows}/. Exit code 0 = harness OK.
//   node compat/browser/selfcheck/run.mjs
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { extractCode, waitForEmail } from '../lib/mailbox.mjs';
import { startFakeFapi } from './fake-fapi.mjs';
import { sendMail } from './fake-flows.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const ARTIFACTS = join(ROOT, '..', 'artifacts', 'browser-selfcheck');
const work = mkdtempSync(join(tmpdir(), 'tessera-browser-selfcheck-'));
const mailDir = join(work, 'mail');

/** Runs a command with output passed through; resolves to its exit code. */
function run(cmd, args, env) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'inherit' });
    p.on('exit', (code) => resolve(code));
  });
}

const sink = spawn(process.execPath, [join(ROOT, 'lib', 'smtp-sink.mjs')], {
  env: { ...process.env, SMTP_SINK_PORT: '0', SMTP_SINK_DIR: mailDir },
  stdio: ['ignore', 'inherit', 'inherit'],
});
let failed = false;
try {
  for (let i = 0; i < 100 && !existsSync(join(mailDir, '.ready')); i++) await sleep(100);
  const smtpPort = Number(readFileSync(join(mailDir, '.ready'), 'utf8'));

  console.log('\n# 1. SMTP sink and mailbox');
  await sendMail(smtpPort, { to: 'Someone@Example.com', subject: 'Your code', text: 'Use 031337 to continue.' });
  const msg = await waitForEmail(mailDir, 'someone@example.com', { timeoutMs: 5000 });
  assert.equal(extractCode(msg), '031337');
  assert.equal(extractCode({ subject: 'x', text: '', html: '<style>p{color:#123456}</style><p>Code <b>654321</b></p>' }), '654321');
  console.log('ok: message stored, found by address, code 031337 extracted');

  const common = { SMTP_SINK_PORT: String(smtpPort), SMTP_SINK_DIR: mailDir };

  console.log('\n# 2. a fake that answers errors: the load test must fail, with artifacts');
  rmSync(ARTIFACTS, { recursive: true, force: true });
  const badDir = join(ARTIFACTS, 'errors');
  const bad = await startFakeFapi({ mode: 'errors' });
  const rcBad = await run(join(ROOT, 'run'), ['test/load.test.mjs'], {
    ...common,
    BROWSER_ARTIFACTS_DIR: badDir,
    TESSERA_URL: bad.url,
    TESSERA_PK: bad.pk,
  });
  await bad.close();
  assert.notEqual(rcBad, 0, 'the load test passed against a server that only answers errors');
  const seen = bad.requests.map((r) => `${r.method} ${r.path}${r.query}`);
  assert.ok(seen.some((r) => /^POST \/v1\/environment\?.*_method=PATCH/.test(r)), `no PATCH environment: ${seen}`);
  assert.ok(seen.some((r) => r.startsWith('GET /v1/client?')), `no GET /v1/client: ${seen}`);
  const files = readdirSync(badDir);
  assert.ok(files.some((f) => f.endsWith('-failure.png')), `no failure screenshot in ${files}`);
  const logName = files.find((f) => f.startsWith('load--load') && f.endsWith('.log'));
  assert.ok(logName, `no log in ${files}`);
  assert.match(readFileSync(join(badDir, logName), 'utf8'), /-> POST .*\/v1\/environment\?.*_method=PATCH/);
  console.log(`ok: load test failed as it should; the fake saw:\n  ${seen.join('\n  ')}\n  artifacts: ${files.join(', ')}`);

  console.log('\n# 3. a fake implementing the flows: the whole suite must pass');
  const good = await startFakeFapi({ mode: 'flows', smtpPort });
  // The fake covers the clerk-js flows, not an app backend's handshake.
  const covered = readdirSync(join(ROOT, 'test'))
    .filter((f) => f.endsWith('.test.mjs') && f !== 'handshake.test.mjs')
    .map((f) => `test/${f}`);
  const rcGood = await run(join(ROOT, 'run'), covered, {
    ...common,
    BROWSER_ARTIFACTS_DIR: join(ARTIFACTS, 'flows'),
    TESSERA_URL: good.url,
    TESSERA_PK: good.pk,
    TESSERA_SK: 'sk_test_selfcheck',
    TESSERA_PUBLIC_KEY_PEM: good.publicKeyPem,
  });
  await good.close();
  assert.equal(rcGood, 0, 'the suite failed against the flows fake');
  console.log('ok: whole suite passed against the flows fake');
} catch (err) {
  failed = true;
  console.error(`\nSELFCHECK FAILED: ${err.stack || err}`);
} finally {
  sink.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
console.log(failed ? '\nselfcheck: FAIL' : '\nselfcheck: PASS');
process.exit(failed ? 1 : 0);
