import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The test matrix: the spec suites run once per configuration, each in its own project
 * (describeEachBackend in test/helpers/backends.ts reads the project's configuration from
 * LOGITKIT_TEST_CONFIGS and checks lk.backend and lk.features before any test). Every other file
 * runs once, in `unit`, where describeEachBackend covers `js` and `wasm` (init()'s own choice).
 * A file joins the matrix by matching MATRIX. The browser suite (test/browser/) is its own project,
 * `browser`: it drives Chromium, Firefox and WebKit, which do not change with the Node running vitest,
 * so .ci/run runs it once (on the machine's Node) and the other Node versions run `unit` and `spec:*`.
 */
const BROWSER = ['test/browser/**/*.test.ts'];
const MATRIX = ['test/spec-*.test.ts', 'test/batch-position.test.ts', 'test/kernels-abi.test.ts'];

const major = Number(process.versions.node.split('.')[0]);
// Relaxed SIMD validates as shipped on Node ≥ 22, which rejects the flag; Node 20 needs it.
const relaxedFlag = major < 22 ? ['--experimental-wasm-relaxed-simd'] : [];

// `vitest run --project 'spec:*'` runs the matrix alone, `--project spec:relaxed` one column.
const matrix = [
  { name: 'spec:js', config: 'js', execArgv: [] },
  { name: 'spec:simd128', config: 'wasm simd128', execArgv: [] },
  { name: 'spec:relaxed', config: 'wasm relaxed', execArgv: relaxedFlag },
  { name: 'spec:threads2', config: 'threads 2', execArgv: [] },
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: two workers keep the suite quick without starving the subprocess tests.
    maxWorkers: 2,
    setupFiles: ['test/setup/typed-array-equality.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...MATRIX, ...BROWSER],
          env: { LOGITKIT_TEST_CONFIGS: 'js,wasm' },
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: BROWSER,
          env: { LOGITKIT_TEST_CONFIGS: 'js,wasm' },
        },
      },
      ...matrix.map(({ name, config, execArgv }) => ({
        extends: true as const,
        test: {
          name,
          include: MATRIX,
          env: { LOGITKIT_TEST_CONFIGS: config },
          execArgv,
        },
      })),
    ],
  },
});
