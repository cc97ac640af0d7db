// Webhooks: every delivery verified as a receiver would, with the npm `svix`
// package's Webhook.verify and with @clerk/backend's own verifyWebhook.
// Endpoints are managed through Tessera's extension of the Backend API
// (/v1/webhooks/endpoints); the events come from SDK writes.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { verifyWebhook } from '@clerk/backend/webhooks';
import { Webhook } from 'svix';

import { apiUrl, clerk, secretKey, sleep, uniqueEmail } from './helpers.mjs';

async function bapi(method, path, body) {
  const resp = await fetch(`${apiUrl}/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await resp.json();
  assert.ok(resp.ok, `${method} ${path}: ${resp.status} ${JSON.stringify(json)}`);
  return json;
}

describe('webhooks', () => {
  let server;
  let url;
  let endpoint;
  const received = []; // { body, headers }

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ body, headers: req.headers });
        res.writeHead(204).end();
      });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${server.address().port}/clerk-webhooks`;
    endpoint = await bapi('POST', '/webhooks/endpoints', {
      url,
      filter_types: ['user.created', 'user.deleted'],
    });
  });

  after(async () => {
    if (endpoint) await bapi('DELETE', `/webhooks/endpoints/${endpoint.id}`);
    if (!server) return;
    // The sender keeps pooled connections open, and one it opened while another
    // was busy may never carry a request: close() alone would wait for it.
    const closed = new Promise((r) => server.close(r));
    server.closeAllConnections();
    await closed;
  });

  async function deliveryOf(type, dataId) {
    for (let i = 0; i < 200; i++) {
      const hit = received.find((r) => {
        const json = JSON.parse(r.body);
        return json.type === type && json.data?.id === dataId;
      });
      if (hit) return hit;
      await sleep(50);
    }
    throw new Error(`no ${type} for ${dataId}; got ${received.map((r) => JSON.parse(r.body).type)}`);
  }

  const svixHeaders = (h) => ({
    'svix-id': h['svix-id'],
    'svix-timestamp': h['svix-timestamp'],
    'svix-signature': h['svix-signature'],
  });

  test('user.created verifies with svix Webhook.verify and verifyWebhook', async () => {
    assert.match(endpoint.secret, /^whsec_/);
    const user = await clerk.users.createUser({
      emailAddress: [uniqueEmail('webhook')],
      skipPasswordRequirement: true,
    });
    const hit = await deliveryOf('user.created', user.id);
    // svix 2.x verify() throws on a bad signature and returns nothing.
    new Webhook(endpoint.secret).verify(hit.body, svixHeaders(hit.headers));
    const payload = JSON.parse(hit.body);
    assert.equal(payload.type, 'user.created');
    assert.equal(payload.object, 'event');
    assert.equal(payload.data.id, user.id);
    assert.equal(payload.data.email_addresses[0].email_address, user.emailAddresses[0].emailAddress);
    assert.match(hit.headers['svix-id'], /^msg_/);

    const request = new Request(url, { method: 'POST', headers: svixHeaders(hit.headers), body: hit.body });
    const evt = await verifyWebhook(request, { signingSecret: endpoint.secret });
    assert.equal(evt.type, 'user.created');
    assert.equal(evt.data.id, user.id);

    assert.throws(() => new Webhook(endpoint.secret).verify(hit.body.replace(user.id, 'user_forged'), svixHeaders(hit.headers)));
    const other = 'whsec_' + Buffer.alloc(24, 7).toString('base64');
    assert.throws(() => new Webhook(other).verify(hit.body, svixHeaders(hit.headers)));
  });

  test('after a rotation, both secrets verify during the overlap', async () => {
    const { key } = await bapi('POST', `/webhooks/endpoints/${endpoint.id}/secret/rotate`, {});
    assert.notEqual(key, endpoint.secret);
    const user = await clerk.users.createUser({
      emailAddress: [uniqueEmail('rotate')],
      skipPasswordRequirement: true,
    });
    await clerk.users.deleteUser(user.id);
    const hit = await deliveryOf('user.deleted', user.id);
    for (const secret of [key, endpoint.secret]) {
      new Webhook(secret).verify(hit.body, svixHeaders(hit.headers));
      const evt = await verifyWebhook(
        new Request(url, { method: 'POST', headers: svixHeaders(hit.headers), body: hit.body }),
        { signingSecret: secret },
      );
      assert.deepEqual(evt.data, { object: 'user', id: user.id, deleted: true });
    }
  });

  test("Clerk's svix operations point at the endpoint API", async () => {
    const app = await clerk.webhooks.createSvixApp();
    assert.match(app.svix_url, /\/v1\/webhooks\/endpoints$/);
    const again = await clerk.webhooks.generateSvixAuthURL();
    assert.equal(again.svix_url, app.svix_url);
  });
});
