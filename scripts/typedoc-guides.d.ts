// Types for scripts/typedoc-guides.js (used by test/docs.test.ts).
import type { Application } from 'typedoc';
export const GUIDES: [file: string, title: string][];
export function load(app: Application): void;
