// The test page's own origin: a small static HTTP server on 127.0.0.1 (a port
// other than the server under test, so page origin != FAPI origin as in a real
// app). It serves
//   /node_modules/@clerk/clerk-js/dist/*  and  /node_modules/@clerk/ui/dist/*
//       the pinned SDK bundles, straight from this folder's node_modules
//       (no CDN: the bundles load their chunks relative to their own URL);
//   any other path
//       the test page: clerk.browser.js with data-clerk-publishable-key and
//       data-clerk-proxy-url, plus @clerk/ui's ui.browser.js when the query
//       has `ui=1` (that bundle defines window.__internal_ClerkUICtor); with
//       `served=1` both bundles come from the server under test instead, at the
//       paths Clerk's SDKs use (`<frontend API>/npm/@clerk/clerk-js@6/dist/…`).
// The page does not call Clerk.load(); the tests do (test/helpers.mjs).
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const NODE_MODULES = join(HERE, '..', 'node_modules');
const ALLOWED = ['@clerk/clerk-js/dist/', '@clerk/ui/dist/'];
export const CLERK_JS_PATH = '/node_modules/@clerk/clerk-js/dist/clerk.browser.js';
export const CLERK_UI_PATH = '/node_modules/@clerk/ui/dist/ui.browser.js';

const TYPES = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.svg': 'image/svg+xml',
};

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** HTML of the test page. */
export function pageHtml({ publishableKey, proxyUrl, ui, served = false }) {
  const js = served ? `${proxyUrl}/npm/@clerk/clerk-js@6/dist/clerk.browser.js` : CLERK_JS_PATH;
  const uiJs = served ? `${proxyUrl}/npm/@clerk/ui@1/dist/ui.browser.js` : CLERK_UI_PATH;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Tessera browser compat</title>
<style>body{font-family:sans-serif;margin:24px;background:#f4f4f5} #mount{min-height:200px}</style>
</head>
<body>
<h1 style="font-size:16px">Tessera browser compat${ui ? ' (with @clerk/ui)' : ''}</h1>
<div id="mount"></div>
<script src="${esc(js)}" crossorigin="anonymous"
  data-clerk-publishable-key="${esc(publishableKey)}"
  data-clerk-proxy-url="${esc(proxyUrl)}"></script>
${ui ? `<script src="${esc(uiJs)}" crossorigin="anonymous"></script>` : ''}
</body>
</html>
`;
}

/**
 * Starts the page server on 127.0.0.1:<free port>.
 * Returns { origin, close() }.
 */
export function startPageServer({ publishableKey, proxyUrl }) {
  return listen(createServer(pageHandler({ publishableKey, proxyUrl })));
}

/**
 * The request handler behind the page server, for apps that serve the test
 * page themselves (an Express app with clerkMiddleware, say).
 */
export function pageHandler({ publishableKey, proxyUrl }) {
  return (req, res) => {
    const url = new URL(req.url, 'http://page.invalid');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (url.pathname.startsWith('/node_modules/')) {
      const rel = normalize(decodeURIComponent(url.pathname.slice('/node_modules/'.length)));
      if (!ALLOWED.some((p) => rel.startsWith(p)) || rel.includes(`..${sep}`)) {
        res.writeHead(404).end();
        return;
      }
      const file = join(NODE_MODULES, rel);
      let st;
      try {
        st = statSync(file);
      } catch {
        st = null;
      }
      if (!st || !st.isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': st.size,
        'cache-control': 'no-store',
      });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const html = pageHtml({
      publishableKey,
      proxyUrl,
      ui: url.searchParams.get('ui') === '1',
      served: url.searchParams.get('served') === '1',
    });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : html);
  };
}

/** Listens on 127.0.0.1:<free port>; resolves to { origin, close() }. */
export function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        origin: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
      server.unref();
    });
  });
}
