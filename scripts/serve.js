// A tiny static file server for the demo and the browser tests. It can misbehave on
// purpose the ways real hosts do, so the tests can check that logitkit copes:
//   --isolated        send COOP/COEP (cross-origin isolation: SharedArrayBuffer, threads)
//   headers           any extra response headers, e.g. a Content-Security-Policy
//   mime overrides    e.g. serve .wasm as text/plain (compileStreaming rejects it)
//   hide + fallback   pretend files are missing and answer with an HTML 404, or with
//                     index.html and status 200 as single-page-app hosts do
//   preload           a script every HTML page runs first (browser drivers without preload
//                     scripts of their own use it); served same-origin, so CSP 'self' allows it
//
// CLI: node scripts/serve.js DIR [--port 5173] [--isolated]
// API: const s = await serve({ root, port: 0 }); s.url; s.requests; await s.close();
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

const NOT_FOUND_PAGE = '<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>';

/**
 * @param {{ root: string, port?: number, host?: string, isolated?: boolean, headers?: Record<string, string>,
 *           mime?: Record<string, string>, hide?: RegExp, fallback?: '404' | 'spa',
 *           preload?: () => string | null }} options
 *   mime: content types by extension that replace the correct ones;
 *   hide: paths matching it are treated as missing;
 *   fallback: what a missing path gets — an HTML 404 page (default) or index.html with 200;
 *   preload: returns the script to inject into each HTML page as it is served, or null for none.
 * @returns {Promise<{ url: string, port: number, requests: string[], misses: string[], close(): Promise<void> }>}
 */
export async function serve({ root, port = 0, host = '127.0.0.1', isolated = false, headers: extra = {}, mime = {}, hide, fallback = '404', preload }) {
  const base = resolve(root);
  const requests = [];
  const misses = []; // paths answered with the 404 page or the SPA fallback
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const headers = { 'cache-control': 'no-store', ...extra };
    if (isolated) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
    }
    const script = preload?.() ?? null;
    if (script !== null && path === PRELOAD_PATH) return send(res, 200, headers, TYPES['.js'], script);
    requests.push(path);
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) return send(res, 403, headers, 'text/plain', 'forbidden');
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      if (hide && hide.test(path)) throw new Error('hidden');
      const body = await readFile(file);
      const ext = extname(file);
      send(res, 200, headers, mime[ext] ?? TYPES[ext] ?? 'application/octet-stream', body, script);
    } catch {
      misses.push(path);
      if (fallback === 'spa') {
        try {
          return send(res, 200, headers, TYPES['.html'], await readFile(join(base, 'index.html')), script);
        } catch {
          /* no index.html: plain 404 below */
        }
      }
      send(res, 404, headers, TYPES['.html'], NOT_FOUND_PAGE);
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, ok);
  });
  const actual = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
  return {
    url: `http://${host}:${actual}/`,
    port: actual,
    requests,
    misses,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

const PRELOAD_PATH = '/__preload.js';

function send(res, status, headers, type, body, script = null) {
  if (script !== null && type === TYPES['.html']) body = withPreload(String(body));
  res.writeHead(status, { ...headers, 'content-type': type });
  res.end(body);
}

/** The page with a classic <script> first in <head> (or first in the document), so it runs before the page's own. */
function withPreload(html) {
  const tag = `<script src="${PRELOAD_PATH}"></script>`;
  for (const re of [/<head(\s[^>]*)?>/i, /<!doctype[^>]*>/i]) {
    const m = re.exec(html);
    if (m) return html.slice(0, m.index + m[0].length) + tag + html.slice(m.index + m[0].length);
  }
  return tag + html;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const root = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--port') ?? '.';
  const p = args.indexOf('--port');
  const s = await serve({ root, port: p >= 0 ? Number(args[p + 1]) : 5173, isolated: args.includes('--isolated') });
  console.log(`serving ${resolve(root)} at ${s.url}${args.includes('--isolated') ? ' (cross-origin isolated: COOP/COEP)' : ''}`);
}
