// Shared setup for the @clerk/backend compatibility tests.
// compat/run exports TESSERA_API_URL, TESSERA_SECRET_KEY and TESSERA_KEYS_FILE
// (the JSON printed by `tessera keys`). Not a test file itself.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { createClerkClient } from '@clerk/backend';
import { isClerkAPIResponseError } from '@clerk/backend/errors';

export { sleep };

export const apiUrl = process.env.TESSERA_API_URL || 'http://127.0.0.1:8080';
export const secretKey = process.env.TESSERA_SECRET_KEY || '';

// Clerk id shape: <prefix>_<27 base62 characters> (see the shared contract notes).
export const idPattern = (prefix) => new RegExp(`^${prefix}_[0-9A-Za-z]{27}$`);

export function makeClient(options = {}) {
  return createClerkClient({
    secretKey,
    apiUrl,
    telemetry: { disabled: true },
    ...options,
  });
}

export const clerk = makeClient();

/** A short random token, unique per call, usable in emails and search queries. */
export function uniq() {
  return `${Date.now().toString(36)}${randomBytes(5).toString('hex')}`;
}

export function uniqueEmail(label = 'user') {
  return `compat-${label}-${uniq()}@example.com`;
}

/** A random, valid-looking E.164 North American number (+1 415 NXX XXXX). */
export function uniquePhone() {
  const exchange = String(randomInt(200, 1000));
  const line = String(randomInt(0, 10000)).padStart(4, '0');
  return `+1415${exchange}${line}`;
}

/** A password no breach list holds and that passes common strength rules. */
export function strongPassword() {
  return `Tsr-${randomBytes(9).toString('base64url')}-9x!`;
}

/** Creates a user with a unique email and a password; returns { user, email, password }. */
export async function createTestUser(extra = {}) {
  const email = extra.email ?? uniqueEmail();
  const password = strongPassword();
  const { email: _ignored, ...params } = extra;
  const user = await clerk.users.createUser({
    emailAddress: [email],
    password,
    firstName: 'Compat',
    lastName: 'Tester',
    ...params,
  });
  return { user, email, password };
}

/**
 * Asserts that `promise` rejects with a ClerkAPIResponseError with the given
 * HTTP status and, when given, errors[0].code. Returns the error.
 */
export async function expectApiError(promise, { status, code } = {}) {
  let caught;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, 'expected the call to fail, it succeeded');
  assert.ok(
    isClerkAPIResponseError(caught),
    `expected a ClerkAPIResponseError, got ${caught?.name}: ${caught?.message}`,
  );
  const detail = JSON.stringify(caught.errors);
  if (status !== undefined) {
    if (typeof status === 'function') {
      assert.ok(status(caught.status), `unexpected status ${caught.status}; errors: ${detail}`);
    } else {
      assert.equal(caught.status, status, `unexpected status; errors: ${detail}`);
    }
  }
  if (code !== undefined) {
    assert.ok(caught.errors.length > 0, `no errors[] in the response body (status ${caught.status})`);
    assert.equal(caught.errors[0].code, code, `unexpected errors[0].code; errors: ${detail}`);
  }
  return caught;
}

/** The instance's public key PEM from `tessera keys` (via TESSERA_KEYS_FILE). */
export function publicKeyPem() {
  const file = process.env.TESSERA_KEYS_FILE;
  assert.ok(file, 'TESSERA_KEYS_FILE is not set (compat/run sets it from `tessera keys`)');
  const keys = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(typeof keys.public_key_pem, 'string', '`tessera keys` printed no public_key_pem');
  return keys.public_key_pem;
}

/** Decodes a JWT's header and payload without verifying it. */
export function decodeJwt(token) {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
  };
}

/** Returns `token` with its payload changed by `mutate`, keeping the original signature. */
export function tamperJwt(token, mutate) {
  const [h, p, s] = token.split('.');
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  mutate(payload);
  const p2 = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return [h, p2, s].join('.');
}
