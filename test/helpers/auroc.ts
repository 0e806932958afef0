// Moved to test/reference/ (one float64 reference module). auroc.test.ts and binary.test.ts still import
// this path (left alone while issue 14 edits them); new code imports '../reference/index.js'.
export * from '../reference/auroc.js';
