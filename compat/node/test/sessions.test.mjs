// Sessions, session tokens and their verification through @clerk/backend 3.25.0:
// clerk.sessions.createSession / getSession / getSessionList / getToken /
// revokeSession, clerk.clients.getClient, clerk.jwks.getJwks and verifyToken()
// both networkless (jwtKey) and with the JWKS fetched from the BAPI (secretKey).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { verifyToken } from '@clerk/backend';
import { TokenVerificationError } from '@clerk/backend/errors';

import {
  apiUrl,
  clerk,
  createTestUser,
  decodeJwt,
  expectApiError,
  idPattern,
  publicKeyPem,
  secretKey,
  tamperJwt,
} from './helpers.mjs';

async function newSession() {
  const { user } = await createTestUser();
  const session = await clerk.sessions.createSession({ userId: user.id });
  return { user, session };
}

async function expectRejected(promise, reasons) {
  let caught;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, 'verifyToken accepted a token it should reject');
  assert.ok(caught instanceof TokenVerificationError, `expected TokenVerificationError, got ${caught?.name}: ${caught?.message}`);
  assert.ok(reasons.includes(caught.reason), `unexpected reason ${caught.reason}: ${caught.message}`);
  return caught;
}

describe('sessions', () => {
  test('createSession makes an active session for the user', async () => {
    const { user, session } = await newSession();
    assert.match(session.id, idPattern('sess'));
    assert.equal(session.userId, user.id);
    assert.equal(session.status, 'active');
    assert.match(session.clientId, idPattern('client'));
    for (const k of ['lastActiveAt', 'expireAt', 'abandonAt', 'createdAt', 'updatedAt']) {
      assert.equal(typeof session[k], 'number', `session.${k} is a number (ms)`);
    }
    assert.ok(session.expireAt > Date.now(), 'expireAt lies in the future');
    assert.ok(session.abandonAt >= session.expireAt, 'abandonAt is not before expireAt');
  });

  test('createSession for a missing user fails with 404', async () => {
    await expectApiError(clerk.sessions.createSession({ userId: 'user_2xxxxxxxxxxxxxxxxxxxxxxxxxx' }), {
      status: 404,
    });
  });

  test('getSession and getSessionList({ userId })', async () => {
    const { user, session } = await newSession();
    const got = await clerk.sessions.getSession(session.id);
    assert.equal(got.id, session.id);
    assert.equal(got.userId, user.id);
    assert.equal(got.clientId, session.clientId);
    assert.equal(got.status, 'active');

    // getSessionList sends paginated=true and expects { data, total_count }.
    const list = await clerk.sessions.getSessionList({ userId: user.id });
    assert.ok(Array.isArray(list.data), 'GET /v1/sessions?paginated=true answers { data: [...], total_count }');
    assert.deepEqual(list.data.map((s) => s.id), [session.id]);
    assert.equal(list.totalCount, 1);

    const byClient = await clerk.sessions.getSessionList({ clientId: session.clientId });
    assert.ok(byClient.data.some((s) => s.id === session.id));

    const active = await clerk.sessions.getSessionList({ userId: user.id, status: 'active' });
    assert.deepEqual(active.data.map((s) => s.id), [session.id]);
    const revoked = await clerk.sessions.getSessionList({ userId: user.id, status: 'revoked' });
    assert.deepEqual(revoked.data, []);
    assert.equal(revoked.totalCount, 0);
  });

  test('clients.getClient returns the client that holds the session', async () => {
    const { session } = await newSession();
    const client = await clerk.clients.getClient(session.clientId);
    assert.equal(client.id, session.clientId);
    assert.ok(client.sessionIds.includes(session.id), 'client.session_ids lists the session');
    assert.ok(client.sessions.some((s) => s.id === session.id), 'client.sessions holds the session');
    assert.equal(typeof client.createdAt, 'number');
  });

  test('getToken returns an RS256 session JWT with Clerk v2 claims', async () => {
    const { user, session } = await newSession();
    const token = await clerk.sessions.getToken(session.id);
    assert.equal(typeof token.jwt, 'string');
    assert.equal(token.jwt.split('.').length, 3);

    const { header, payload } = decodeJwt(token.jwt);
    assert.equal(header.alg, 'RS256');
    assert.equal(typeof header.kid, 'string');
    assert.equal(payload.sub, user.id);
    assert.equal(payload.sid, session.id);
    assert.equal(payload.v, 2);
    assert.equal(typeof payload.iss, 'string');
    for (const k of ['iat', 'nbf', 'exp']) assert.ok(Number.isInteger(payload[k]), `${k} is an integer (seconds)`);
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(payload.iat - now) < 300, 'iat is now, in seconds');
    assert.ok(payload.exp > payload.iat, 'exp after iat');
    assert.ok(payload.exp - payload.iat <= 3600, 'short-lived token');
  });

  test('verifyToken with jwtKey (networkless) accepts the token', async () => {
    const { user, session } = await newSession();
    const { jwt } = await clerk.sessions.getToken(session.id);
    const claims = await verifyToken(jwt, { jwtKey: publicKeyPem() });
    assert.equal(claims.sub, user.id);
    assert.equal(claims.sid, session.id);
  });

  test('verifyToken with secretKey + apiUrl (JWKS from GET /v1/jwks) accepts the token', async () => {
    const { user, session } = await newSession();
    const { jwt } = await clerk.sessions.getToken(session.id);
    const claims = await verifyToken(jwt, { secretKey, apiUrl, skipJwksCache: true });
    assert.equal(claims.sub, user.id);
    assert.equal(claims.sid, session.id);
  });

  test('jwks.getJwks lists the signing key of the tokens', async () => {
    const { session } = await newSession();
    const { jwt } = await clerk.sessions.getToken(session.id);
    const { header } = decodeJwt(jwt);
    const jwks = await clerk.jwks.getJwks();
    assert.ok(Array.isArray(jwks.keys) && jwks.keys.length > 0, 'JWKS has keys');
    const key = jwks.keys.find((k) => k.kid === header.kid);
    assert.ok(key, `JWKS holds kid ${header.kid}`);
    assert.equal(key.kty, 'RSA');
    assert.equal(key.alg, 'RS256');
    assert.equal(key.use, 'sig');
    assert.equal(typeof key.n, 'string');
    assert.equal(key.e, 'AQAB');
  });

  test('a tampered token is rejected (jwtKey and JWKS)', async () => {
    const { session } = await newSession();
    const { jwt } = await clerk.sessions.getToken(session.id);
    const forged = tamperJwt(jwt, (p) => {
      p.sub = 'user_2aaaaaaaaaaaaaaaaaaaaaaaaaa';
    });
    const badSignature = ['token-invalid-signature', 'token-verification-failed'];
    await expectRejected(verifyToken(forged, { jwtKey: publicKeyPem() }), badSignature);
    await expectRejected(verifyToken(forged, { secretKey, apiUrl }), badSignature);

    const [h, p, s] = jwt.split('.');
    const flipped = `${h}.${p}.${s.startsWith('A') ? `B${s.slice(1)}` : `A${s.slice(1)}`}`;
    await expectRejected(verifyToken(flipped, { jwtKey: publicKeyPem() }), badSignature);
  });

  test('revokeSession: status revoked, and no new token can be created', async () => {
    const { user, session } = await newSession();
    await clerk.sessions.getToken(session.id);

    const revoked = await clerk.sessions.revokeSession(session.id);
    assert.equal(revoked.id, session.id);
    assert.equal(revoked.status, 'revoked');
    assert.equal((await clerk.sessions.getSession(session.id)).status, 'revoked');

    await expectApiError(clerk.sessions.getToken(session.id), { status: (s) => s >= 400 && s < 500 });

    const active = await clerk.sessions.getSessionList({ userId: user.id, status: 'active' });
    assert.deepEqual(active.data, []);
  });

  test('getToken for a missing session fails with 404', async () => {
    await expectApiError(clerk.sessions.getToken('sess_2xxxxxxxxxxxxxxxxxxxxxxxxxx'), { status: 404 });
  });
});
