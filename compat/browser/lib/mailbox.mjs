// Reads the messages lib/smtp-sink.mjs stores (one JSON file per message in
// the mailbox folder) and pulls verification codes out of them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// Message ids this process has already handed out, so "the next email" to an
// address is never the same message twice.
const taken = new Set();

/** All stored messages, oldest first. */
export function listMessages(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
    .sort()
    .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')));
}

const addressed = (msg, to) => {
  const want = to.toLowerCase();
  return [...(msg.envelope?.to ?? []), ...(msg.to ?? [])].some((a) => String(a).toLowerCase() === want);
};

/**
 * Waits for the oldest message to `to` (envelope or To header, any letter
 * case) that this process has not returned before, and returns it:
 * { id, receivedAt, envelope: {from, to[]}, from[], to[], subject, text, html }.
 * With `latest`, waits `settleMs` more after the first one arrives and returns
 * the newest unseen one instead, marking all of them seen (for UIs that may
 * send a code twice).
 */
export async function waitForEmail(dir, to, { timeoutMs = 20_000, pollMs = 200, latest = false, settleMs = 1500 } = {}) {
  if (!dir) throw new Error('no mailbox folder: set SMTP_SINK_DIR (compat/browser/run does)');
  const deadline = Date.now() + timeoutMs;
  const unseen = () => listMessages(dir).filter((m) => !taken.has(m.id) && addressed(m, to));
  for (;;) {
    let found = unseen();
    if (found.length) {
      if (latest) {
        await sleep(settleMs);
        found = unseen().reverse();
        found.forEach((m) => taken.add(m.id));
      }
      taken.add(found[0].id);
      return found[0];
    }
    if (Date.now() > deadline) {
      const seen = listMessages(dir).map((m) => `${m.envelope?.to?.join(',')}: ${m.subject}`);
      throw new Error(
        `no email to ${to} reached the SMTP sink within ${timeoutMs} ms` +
          ` (mailbox holds ${seen.length}: ${JSON.stringify(seen.slice(-5))})`,
      );
    }
    await sleep(pollMs);
  }
}

/** Visible text of an HTML body: no <style>/<script>/<head>, no tags, entities decoded. */
function htmlText(html) {
  return html
    .replace(/<(style|script|head)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)))
    .replace(/&amp;/g, '&');
}

/**
 * The 6-digit code of a verification email: looked for in the subject, then
 * the plain-text body, then the visible text of the HTML body. Throws if none.
 */
export function extractCode(msg) {
  for (const source of [msg.subject ?? '', msg.text ?? '', htmlText(msg.html ?? '')]) {
    const m = source.match(/(?<![\d#])(\d{6})(?!\d)/);
    if (m) return m[1];
  }
  throw new Error(`no 6-digit code in the email "${msg.subject}": ${String(msg.text).slice(0, 300)}`);
}
