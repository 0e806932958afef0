// Types for scripts/docs-sync.js (used by test/docs.test.ts).
export const ROOT: string;
export interface Sources {
  results: string;
  help(command: string): string;
}
export function documents(root?: string): string[];
export function sources(root?: string): Sources;
export function resultsSection(results: string, heading: string): string;
export function benchSummary(results: string): string;
export function render(kind: string, arg: string, src: Sources, doc: string): string;
export function syncText(text: string, src: Sources, doc: string): { text: string; stale: string[] };
export function syncAll(options?: { check?: boolean; root?: string }): string[];
