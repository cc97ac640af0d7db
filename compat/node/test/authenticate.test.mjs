// authenticateRequest: @clerk/backend authenticates an incoming app request that
// carries a Tessera session token, by bearer header and by the __session cookie.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { apiUrl, clerk, createTestUser, decodeJwt, makeClient, publicKeyPem, secretKey, tamperJwt } from './helpers.mjs';

function publishableKey() {
  return JSON.parse(readFileSync(process.env.TESSERA_KEYS_FILE, 'utf8')).publishable_key;
}

async function signedInToken() {
  const { user } = await createTestUser();
  const session = await clerk.sessions.createSession({ userId: user.id });
  const { jwt } = await clerk.sessions.getToken(session.id);
  return { user, session, jwt };
}

function apiRequest(headers) {
  // A fetch from the app's own frontend (not a page load), so no handshake is needed.
  return new Request('http://127.0.0.1:3000/api/me', {
    headers: { accept: 'application/json', 'sec-fetch-dest': 'empty', ...headers },
  });
}

describe('authenticateRequest', () => {
  test('a bearer token is signed in (jwtKey, networkless)', async () => {
    const { user, session, jwt } = await signedInToken();
    const state = await clerk.authenticateRequest(apiRequest({ authorization: `Bearer ${jwt}` }), {
      jwtKey: publicKeyPem(),
      publishableKey: publishableKey(),
    });
    assert.equal(state.isSignedIn, true, `${state.status} ${state.reason} ${state.message}`);
    const auth = state.toAuth();
    assert.equal(auth.userId, user.id);
    assert.equal(auth.sessionId, session.id);
  });

  test('a bearer token is signed in with keys from the JWKS (secretKey + apiUrl)', async () => {
    const { user, jwt } = await signedInToken();
    const state = await makeClient({ publishableKey: publishableKey() }).authenticateRequest(
      apiRequest({ authorization: `Bearer ${jwt}` }),
    );
    assert.equal(state.isSignedIn, true, `${state.status} ${state.reason} ${state.message}`);
    assert.equal(state.toAuth().userId, user.id);
  });

  test('the __session cookie with a current __client_uat is signed in', async () => {
    const { user, jwt } = await signedInToken();
    const { iat } = decodeJwt(jwt).payload;
    // On development keys @clerk/backend also wants a development-browser cookie.
    const devBrowser = await (await fetch(`${apiUrl}/v1/dev_browser`, { method: 'POST' })).json();
    const state = await clerk.authenticateRequest(
      apiRequest({ cookie: `__session=${jwt}; __client_uat=${iat}; __clerk_db_jwt=${devBrowser.id}` }),
      { jwtKey: publicKeyPem(), publishableKey: publishableKey() },
    );
    assert.equal(state.isSignedIn, true, `${state.status} ${state.reason} ${state.message}`);
    assert.equal(state.toAuth().userId, user.id);
  });

  test('a tampered token is signed out', async () => {
    const { jwt } = await signedInToken();
    const forged = tamperJwt(jwt, (p) => {
      p.sub = 'user_2someoneelseXXXXXXXXXXXXXX';
    });
    const state = await clerk.authenticateRequest(apiRequest({ authorization: `Bearer ${forged}` }), {
      jwtKey: publicKeyPem(),
      publishableKey: publishableKey(),
    });
    assert.equal(state.isSignedIn, false);
  });

  test('authorizedParties accepts the azp it lists and rejects another', async () => {
    const { session } = await signedInToken();
    // The token's azp is the Origin of the request that minted it.
    const minted = await fetch(`${apiUrl}/v1/sessions/${session.id}/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secretKey}`, origin: 'https://app.example.com', 'content-type': 'application/json' },
      body: '{}',
    });
    const { jwt } = await minted.json();
    assert.equal(decodeJwt(jwt).payload.azp, 'https://app.example.com');
    const check = (parties) =>
      clerk.authenticateRequest(apiRequest({ authorization: `Bearer ${jwt}` }), {
        jwtKey: publicKeyPem(),
        publishableKey: publishableKey(),
        authorizedParties: parties,
      });
    assert.equal((await check(['https://app.example.com'])).isSignedIn, true);
    assert.equal((await check(['https://other.example.com'])).isSignedIn, false);
  });
});
