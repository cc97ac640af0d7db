// Endpoints of the self-check's fake server in flows mode: sign-up with an
// email code, sign-in with password or email code, session touch/tokens,
// sign-out, and BAPI POST /v1/users. The client is found by a `__client`
// cookie. Codes go out by SMTP to the harness's sink. See fake-fapi.mjs.
import { randomInt } from 'node:crypto';
import { connect } from 'node:net';

import { error, newId } from './fake-state.mjs';

/** Sends one plain-text message over SMTP (no TLS, no auth): enough for the sink. */
export function sendMail(port, { to, subject, text }) {
  const lines = [
    'EHLO fake.localhost',
    'MAIL FROM:<no-reply@fake.localhost>',
    `RCPT TO:<${to}>`,
    'DATA',
    `From: no-reply@fake.localhost\r\nTo: ${to}\r\nSubject: ${subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text}\r\n.`,
    'QUIT',
  ];
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (d) => {
      buf += d;
      // A reply is complete when its last line has "NNN " (space, not dash).
      if (!/(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(buf)) return;
      if (/(^|\r\n)[45]\d\d /.test(buf)) return reject(new Error(`SMTP: ${buf.trim()}`));
      buf = '';
      const next = lines.shift();
      if (next === undefined) return sock.end();
      sock.write(`${next}\r\n`);
    });
    sock.on('error', reject);
    sock.on('close', resolve);
  });
}

const cookieOf = (req, name) =>
  (req.headers.cookie || '').split(/;\s*/).find((c) => c.startsWith(`${name}=`))?.slice(name.length + 1);

export async function handleFlows({ state, req, url, body, send, smtpPort }) {
  const method = (url.searchParams.get('_method') || req.method).toUpperCase();
  const path = url.pathname.replace(/\/+$/, '');
  const azp = req.headers.origin || '';
  const p = req.headers['content-type']?.includes('json') ? JSON.parse(body || '{}') : Object.fromEntries(new URLSearchParams(body));
  let client = state.clients.get(cookieOf(req, '__client'));
  const setCookie = {};
  const ensureClient = () => {
    if (!client) {
      client = { id: newId('client'), sessionIds: [], signIn: null, signUp: null, lastActive: null, createdAt: Date.now() };
      state.clients.set(client.id, client);
      setCookie['set-cookie'] = `__client=${client.id}; Path=/; HttpOnly; SameSite=Lax`;
    }
    return client;
  };
  const ok = (response) => send(200, { response, client: state.clientJson(client, azp) }, setCookie);
  const fail = (code, message, param) =>
    send(422, { ...error(code, message, param), meta: { client: state.clientJson(client, azp) } }, setCookie);
  const code6 = () => String(randomInt(0, 1e6)).padStart(6, '0');
  let m;

  if (method === 'POST' && path === '/v1/users') {
    const user = state.createUser({ email: p.email_address?.[0], password: p.password, firstName: p.first_name ?? null });
    return send(200, state.userJson(user));
  }
  if (method === 'GET' && path === '/v1/client') return send(200, { response: state.clientJson(client, azp), client: null });
  if (method === 'DELETE' && path === '/v1/client/sessions') {
    for (const id of client?.sessionIds ?? []) state.sessions.get(id).status = 'ended';
    return send(200, { response: state.clientJson(client, azp), client: null });
  }
  if (method === 'POST' && path === '/v1/client/sign_ups') {
    ensureClient();
    if (state.userByEmail(p.email_address)) return fail('form_identifier_exists', 'That email address is taken.', 'email_address');
    const su = { id: newId('sua'), email: p.email_address, password: p.password, status: 'missing_requirements' };
    state.signUps.set(su.id, su);
    client.signUp = su.id;
    return ok(state.signUpJson(su));
  }
  if ((m = path.match(/^\/v1\/client\/sign_ups\/([^/]+)\/(prepare|attempt)_verification$/)) && method === 'POST') {
    const su = state.signUps.get(m[1]);
    if (!su || !client) return fail('resource_not_found', 'No sign-up.', null);
    if (m[2] === 'prepare') {
      su.code = code6();
      su.prepared = true;
      await sendMail(smtpPort, { to: su.email, subject: `${su.code} is your verification code`, text: `Your code: ${su.code}` });
      return ok(state.signUpJson(su));
    }
    if (p.code !== su.code) return fail('form_code_incorrect', 'Incorrect code', 'code');
    const user = state.createUser({ email: su.email, password: su.password });
    Object.assign(su, { verified: true, status: 'complete', userId: user.id, sessionId: state.createSession(client, user.id).id });
    return ok(state.signUpJson(su));
  }
  if (method === 'POST' && path === '/v1/client/sign_ins') {
    ensureClient();
    const user = state.userByEmail(p.identifier);
    if (!user) return fail('form_identifier_not_found', "Couldn't find your account.", 'identifier');
    const si = { id: newId('sia'), identifier: p.identifier, userId: user.id, status: 'needs_first_factor' };
    state.signIns.set(si.id, si);
    client.signIn = si.id;
    if (p.password !== undefined) {
      if (p.password !== user.password) return fail('form_password_incorrect', 'Password is incorrect.', 'password');
      Object.assign(si, { status: 'complete', factor: 'password', sessionId: state.createSession(client, user.id).id });
    }
    return ok(state.signInJson(si));
  }
  if ((m = path.match(/^\/v1\/client\/sign_ins\/([^/]+)\/(prepare|attempt)_first_factor$/)) && method === 'POST') {
    const si = state.signIns.get(m[1]);
    if (!si || !client) return fail('resource_not_found', 'No sign-in.', null);
    const user = state.users.get(si.userId);
    if (m[2] === 'prepare') {
      si.factor = p.strategy;
      if (p.strategy === 'email_code') {
        si.code = code6();
        await sendMail(smtpPort, { to: user.email, subject: `${si.code} is your verification code`, text: `Your code: ${si.code}` });
      }
      return ok(state.signInJson(si));
    }
    const good = p.strategy === 'password' ? p.password === user.password : p.code === si.code;
    if (!good) return p.strategy === 'password' ? fail('form_password_incorrect', 'Password is incorrect.', 'password') : fail('form_code_incorrect', 'Incorrect code', 'code');
    Object.assign(si, { status: 'complete', factor: p.strategy, sessionId: state.createSession(client, user.id).id });
    return ok(state.signInJson(si));
  }
  if ((m = path.match(/^\/v1\/client\/sessions\/([^/]+)\/(touch|tokens|end|remove)$/)) && method === 'POST') {
    const s = state.sessions.get(m[1]);
    if (!s || !client?.sessionIds.includes(s.id)) return send(404, error('resource_not_found', 'No session.'));
    if (m[2] === 'tokens') return send(200, { object: 'token', jwt: state.token(s, azp) });
    if (m[2] === 'touch') client.lastActive = s.id;
    else s.status = m[2] === 'end' ? 'ended' : 'removed';
    return ok(state.sessionJson(s, azp));
  }
  return send(422, error('fake_not_implemented', `fake server: ${method} ${path} not implemented`));
}
