// A stand-in for the server, used only to check the harness itself
// (selfcheck/run.mjs), never by the real suite. Modes:
//   errors  every /v1 request is answered 500 with a Clerk-shaped error body;
//   env     GET|PATCH /v1/environment answers a small development environment
//           (email + password, no captcha) and GET /v1/client answers
//           { response: null }; anything else is a 422 error. Enough for
//           clerk-js to load and for @clerk/ui to render <SignUp/>/<SignIn/>;
//   flows   env, plus the sign-up / sign-in / session endpoints the suite's
//           flows use (selfcheck/fake-flows.mjs), codes sent by SMTP.
// Responses carry credentialed CORS for the page's origin. Every request is
// recorded in `requests` ({ method, path, query, body }).
import { createServer } from 'node:http';

import { handleFlows } from './fake-flows.mjs';
import { error, FakeState } from './fake-state.mjs';

/** pk_test_ + base64("<host:port>$"), padding stripped. */
export function publishableKeyFor(url) {
  return `pk_test_${Buffer.from(`${new URL(url).host}$`).toString('base64').replace(/=+$/, '')}`;
}

const attr = (enabled, extra = {}) => ({
  enabled,
  required: enabled,
  used_for_first_factor: false,
  first_factors: [],
  used_for_second_factor: false,
  second_factors: [],
  verifications: [],
  verify_at_sign_up: false,
  ...extra,
});

/** A minimal development environment (field names from the FAPI contract notes). */
export function environment(origin) {
  return {
    object: 'environment',
    id: 'env_selfcheck',
    auth_config: { object: 'auth_config', id: 'aac_selfcheck', single_session_mode: false, claimed_at: null },
    display_config: {
      object: 'display_config',
      id: 'display_config_selfcheck',
      instance_environment_type: 'development',
      application_name: 'Harness self-check',
      preferred_sign_in_strategy: 'password',
      branded: false,
      show_devmode_warning: false,
      home_url: origin,
      captcha_public_key: null,
    },
    user_settings: {
      attributes: {
        email_address: attr(true, {
          used_for_first_factor: true,
          first_factors: ['email_code'],
          verifications: ['email_code'],
          verify_at_sign_up: true,
        }),
        password: attr(true),
        phone_number: attr(false),
        username: attr(false),
        first_name: attr(false),
        last_name: attr(false),
        web3_wallet: attr(false),
        authenticator_app: attr(false),
        backup_code: attr(false),
        passkey: attr(false),
      },
      social: {},
      sign_in: { second_factor: { required: false, enabled: false } },
      sign_up: { allowlist_only: false, progressive: true, captcha_enabled: false, mode: 'public', legal_consent_enabled: false },
      password_settings: { min_length: 8, max_length: 72, show_zxcvbn: false, disable_hibp: true },
    },
    organization_settings: { enabled: false },
    maintenance_mode: false,
  };
}


export function startFakeFapi({ mode = 'errors', smtpPort = 0 } = {}) {
  const requests = [];
  let state = null; // flows mode, created once the port is known
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://fake.invalid');
      requests.push({ method: req.method, path: url.pathname, query: url.search, body: Buffer.concat(chunks).toString() });
      const headers = {
        'access-control-allow-origin': req.headers.origin || '*',
        'access-control-allow-credentials': 'true',
        vary: 'Origin',
      };
      const send = (status, body, extra = {}) => {
        res.writeHead(status, { ...headers, ...extra, 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { ...headers, 'access-control-allow-methods': 'GET, POST, PATCH, PUT, DELETE', 'access-control-allow-headers': '*' });
        res.end();
        return;
      }
      if (mode === 'errors') return send(500, error('internal_clerk_error', 'fake server: not implemented'));
      if (url.pathname === '/v1/environment') return send(200, environment(req.headers.origin || ''));
      if (mode === 'flows') {
        const body = Buffer.concat(chunks).toString();
        return handleFlows({ state, req, url, body, send, smtpPort }).catch((e) =>
          send(500, error('internal_clerk_error', `fake server: ${e.stack || e}`)),
        );
      }
      if (url.pathname === '/v1/client' && req.method === 'GET') return send(200, { response: null, client: null });
      return send(422, error('fake_not_implemented', `fake server: ${req.method} ${url.pathname} not implemented`));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      state = new FakeState(url);
      resolve({
        url,
        pk: publishableKeyFor(url),
        publicKeyPem: state.publicKeyPem,
        requests,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
