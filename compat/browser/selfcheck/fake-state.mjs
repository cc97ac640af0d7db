// In-memory state and JSON shapes of the self-check's fake server (flows mode):
// just enough of the FAPI objects for clerk-js and @clerk/ui to run the
// suite's flows once, so the harness (page, selectors, mailbox, token check)
// can be proven before the real server exists. Not a reference for the
// server: the contract notes and fapi.yml are.
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

const now = () => Date.now();

/** A Clerk-shaped error body. */
export const error = (code, message, paramName) => ({
  errors: [{ code, message, long_message: message, meta: paramName ? { param_name: paramName } : {} }],
  clerk_trace_id: 'selfcheck',
});

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const newId = (prefix) => `${prefix}_${Array.from(randomBytes(27), (b) => B62[b % 62]).join('')}`;

export class FakeState {
  constructor(issuer) {
    this.issuer = issuer;
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' });
    this.privateKey = createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    this.users = new Map(); // id -> { id, email, emailId, password, firstName }
    this.clients = new Map(); // id -> { id, sessionIds[], signIn, signUp, lastActive }
    this.sessions = new Map(); // id -> { id, userId, status }
    this.signIns = new Map();
    this.signUps = new Map();
  }

  userByEmail(email) {
    return [...this.users.values()].find((u) => u.email.toLowerCase() === String(email).toLowerCase());
  }

  createUser({ email, password, firstName = null }) {
    const u = { id: newId('user'), email, emailId: newId('idn'), password, firstName, createdAt: now() };
    this.users.set(u.id, u);
    return u;
  }

  createSession(client, userId) {
    const s = { id: newId('sess'), userId, status: 'active', createdAt: now() };
    this.sessions.set(s.id, s);
    client.sessionIds.push(s.id);
    client.lastActive = s.id;
    return s;
  }

  /** RS256 session token with Clerk v2 claims, 60 s lifetime. */
  token(session, azp) {
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const iat = Math.floor(now() / 1000);
    const head = b64({ alg: 'RS256', kid: 'ins_selfcheck', typ: 'JWT' });
    const body = b64({ sub: session.userId, sid: session.id, iss: this.issuer, azp, iat, nbf: iat - 5, exp: iat + 60, v: 2, fva: [0, -1], sts: 'active' });
    const sig = sign('RSA-SHA256', Buffer.from(`${head}.${body}`), this.privateKey).toString('base64url');
    return `${head}.${body}.${sig}`;
  }

  // --- JSON shapes ---------------------------------------------------------

  userJson(u) {
    const t = u.createdAt;
    return {
      object: 'user', id: u.id, external_id: null, first_name: u.firstName, last_name: null, username: null,
      image_url: '', has_image: false, password_enabled: true, primary_email_address_id: u.emailId,
      email_addresses: [{
        object: 'email_address', id: u.emailId, email_address: u.email, linked_to: [], reserved: false,
        verification: { object: 'verification_otp', status: 'verified', strategy: 'email_code', attempts: 1, expire_at: null },
        created_at: t, updated_at: t,
      }],
      primary_phone_number_id: null, phone_numbers: [], primary_web3_wallet_id: null, web3_wallets: [],
      external_accounts: [], passkeys: [], saml_accounts: [], enterprise_accounts: [], organization_memberships: [],
      public_metadata: {}, private_metadata: {}, unsafe_metadata: {}, totp_enabled: false, backup_code_enabled: false,
      two_factor_enabled: false, banned: false, locked: false, create_organization_enabled: false, delete_self_enabled: true,
      last_sign_in_at: null, last_active_at: null, created_at: t, updated_at: t,
    };
  }

  sessionJson(s, azp) {
    const u = this.users.get(s.userId);
    return {
      object: 'session', id: s.id, status: s.status, expire_at: now() + 7 * 864e5, abandon_at: now() + 30 * 864e5,
      last_active_at: now(), last_active_organization_id: null, actor: null, tasks: null, factor_verification_age: [0, -1],
      last_active_token: { object: 'token', jwt: this.token(s, azp) },
      user: this.userJson(u),
      public_user_data: { first_name: u.firstName, last_name: null, image_url: '', has_image: false, identifier: u.email, user_id: u.id },
      created_at: s.createdAt, updated_at: now(),
    };
  }

  clientJson(c, azp) {
    if (!c) return null;
    const active = c.sessionIds.map((id) => this.sessions.get(id)).filter((s) => s.status === 'active');
    return {
      object: 'client', id: c.id, sessions: active.map((s) => this.sessionJson(s, azp)),
      sign_in: c.signIn ? this.signInJson(this.signIns.get(c.signIn)) : null,
      sign_up: c.signUp ? this.signUpJson(this.signUps.get(c.signUp)) : null,
      last_active_session_id: active.some((s) => s.id === c.lastActive) ? c.lastActive : null,
      cookie_expires_at: null, created_at: c.createdAt, updated_at: now(),
    };
  }

  signUpJson(su) {
    const v = su.verified
      ? { status: 'verified', strategy: 'email_code', attempts: 1, expire_at: null, next_action: '', supported_strategies: ['email_code'] }
      : { status: 'unverified', strategy: su.prepared ? 'email_code' : null, attempts: 0, expire_at: su.prepared ? now() + 6e5 : null,
          next_action: su.prepared ? 'needs_attempt' : 'needs_prepare', supported_strategies: ['email_code'] };
    return {
      object: 'sign_up_attempt', id: su.id, status: su.status,
      required_fields: ['email_address', 'password'], optional_fields: [], missing_fields: [],
      unverified_fields: su.verified ? [] : ['email_address'],
      verifications: { email_address: v, phone_number: null, web3_wallet: null, external_account: null },
      email_address: su.email, phone_number: null, web3_wallet: null, username: null, first_name: null, last_name: null,
      password_enabled: true, has_password: true, unsafe_metadata: {}, legal_accepted_at: null,
      created_session_id: su.sessionId ?? null, created_user_id: su.userId ?? null, abandon_at: now() + 864e5,
    };
  }

  signInJson(si) {
    const u = si.userId ? this.users.get(si.userId) : null;
    const factors = u
      ? [
          { strategy: 'password' },
          { strategy: 'email_code', email_address_id: u.emailId, safe_identifier: u.email, primary: true },
        ]
      : [];
    return {
      object: 'sign_in_attempt', id: si.id, status: si.status, supported_identifiers: ['email_address'],
      identifier: si.identifier, user_data: u ? { first_name: u.firstName, last_name: null, image_url: '', has_image: false } : null,
      supported_first_factors: factors, supported_second_factors: null,
      first_factor_verification: si.factor
        ? { status: si.status === 'complete' ? 'verified' : 'unverified', strategy: si.factor, attempts: 0, expire_at: now() + 6e5 }
        : null,
      second_factor_verification: null, created_session_id: si.sessionId ?? null,
    };
  }
}
