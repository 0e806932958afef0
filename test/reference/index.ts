/**
 * The float64 references: every figure a test compares against is computed here, written from
 * SEMANTICS.md and the definitions in the README alone, never from either backend (the JS backend
 * is itself under test). One file per family; import from this index.
 */
export * from './core.js';
export * from './loss.js';
export * from './score.js';
export * from './auroc.js';
export * from './sample.js';
export * from './decode.js';
