// Moved to test/reference/ (one float64 reference module); this path only keeps branches written
// against it merging. Import from '../reference/index.js' instead.
export * from '../reference/core.js';
