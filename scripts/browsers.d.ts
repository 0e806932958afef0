// Types for scripts/browsers.js (used by the browser tests and their own test).
export interface BrowserFiles {
  paths: string[];
  packages: string[];
}
export declare const BROWSERS: Record<'chromium' | 'firefox' | 'webkit', BrowserFiles>;
export declare const ALL_PACKAGES: string[];
export declare const INSTALL_COMMAND: string;
export declare function missingBrowsers(exists?: (path: string) => boolean): { engines: string[]; files: string[]; packages: string[] };
export interface EnsureIo {
  exists?: (path: string) => boolean;
  isRoot?: () => boolean;
  hasAptGet?: () => boolean;
  run?: (command: string, args: string[], env: Record<string, string>) => unknown;
  log?: (line: string) => void;
}
export declare function ensureBrowsers(io?: EnsureIo): string[];
