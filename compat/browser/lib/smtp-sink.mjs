#!/usr/bin/env node
// SMTP sink for the browser suite: accepts every message on 127.0.0.1 and
// stores it, parsed, as one JSON file per message in a mailbox folder that
// the tests poll (test/helpers.mjs `waitForEmail`).
//
//   SMTP_SINK_PORT  port to listen on (0 = any free port)
//   SMTP_SINK_DIR   mailbox folder (created when missing)
//
// Once listening it writes the port to <SMTP_SINK_DIR>/.ready, so a script
// can wait for that file before it starts the server that sends the mail.
// No TLS and no authentication are required (AUTH is accepted if offered):
// the server under test talks to it as `smtp://127.0.0.1:<port>`.
// Stops on SIGTERM/SIGINT.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

const port = Number(process.env.SMTP_SINK_PORT ?? 0);
const dir = process.env.SMTP_SINK_DIR;
if (!dir || !Number.isInteger(port) || port < 0) {
  console.error('smtp-sink: set SMTP_SINK_DIR and a numeric SMTP_SINK_PORT');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });

let seq = 0;

/** Address strings of a mailparser address object (or list of them). */
function addresses(field) {
  if (!field) return [];
  const list = Array.isArray(field) ? field : [field];
  return list.flatMap((a) => (a.value ?? []).map((v) => v.address).filter(Boolean));
}

/** Writes the message atomically (temp file + rename) so readers never see half a file. */
function store(session, parsed, raw) {
  seq += 1;
  const receivedAt = Date.now();
  const id = `${String(receivedAt).padStart(15, '0')}-${String(seq).padStart(6, '0')}`;
  const message = {
    id,
    receivedAt,
    envelope: {
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
      to: session.envelope.rcptTo.map((r) => r.address),
    },
    from: addresses(parsed.from),
    to: addresses(parsed.to),
    subject: parsed.subject ?? '',
    text: parsed.text ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : '',
    size: raw.length,
  };
  const tmp = join(dir, `.${id}.tmp`);
  writeFileSync(tmp, JSON.stringify(message, null, 2));
  renameSync(tmp, join(dir, `${id}.json`));
  console.log(`smtp-sink: ${id} to=${message.envelope.to.join(',')} subject=${JSON.stringify(message.subject)}`);
}

const server = new SMTPServer({
  name: 'smtp-sink.localhost',
  banner: 'test sink',
  secure: false,
  hideSTARTTLS: true,
  disabledCommands: ['STARTTLS'],
  authOptional: true,
  allowInsecureAuth: true,
  logger: false,
  size: 10 * 1024 * 1024,
  onAuth(auth, session, callback) {
    callback(null, { user: auth.username || 'any' });
  },
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('error', callback);
    stream.on('end', async () => {
      const raw = Buffer.concat(chunks);
      try {
        store(session, await simpleParser(raw), raw);
        callback();
      } catch (err) {
        console.error('smtp-sink: could not store a message:', err);
        callback(err);
      }
    });
  },
});

server.on('error', (err) => console.error('smtp-sink: error:', err.message));
server.listen(port, '127.0.0.1', () => {
  const actual = server.server.address().port;
  writeFileSync(join(dir, '.ready'), String(actual));
  console.log(`smtp-sink: listening on 127.0.0.1:${actual}, mailbox ${dir}`);
});

// Open connections could hold close() up: exit after 2 s regardless.
const stop = () => {
  setTimeout(() => process.exit(0), 2000).unref();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
