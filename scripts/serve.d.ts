// Types for scripts/serve.js (used by the browser tests).
export interface ServeOptions {
  root: string;
  port?: number;
  host?: string;
  /** Send COOP/COEP so the page is cross-origin isolated. */
  isolated?: boolean;
  /** Extra response headers, e.g. { 'content-security-policy': "script-src 'self'" }. */
  headers?: Record<string, string>;
  /** Content types by extension that replace the correct ones, e.g. { '.wasm': 'text/plain' }. */
  mime?: Record<string, string>;
  /** Paths matching this are treated as missing. */
  hide?: RegExp;
  /** What a missing path gets: an HTML 404 page (default) or index.html with status 200. */
  fallback?: '404' | 'spa';
  /** A script every HTML page runs first (served at /__preload.js), or null for none; asked per request. */
  preload?: () => string | null;
}
export interface Served {
  url: string;
  port: number;
  /** Every requested path, in order. */
  requests: string[];
  /** Requested paths that got the 404 page or the SPA fallback. */
  misses: string[];
  close(): Promise<void>;
}
export function serve(options: ServeOptions): Promise<Served>;
