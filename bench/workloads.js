// The benchmark core (src/bench-core/, built into dist/bench-core/ by `npm run build`): workloads,
// data generation, naive baselines and the accuracy check, shared with `logitkit bench` and the
// demo so all of them time the same numbers. Re-exported here for bench/'s scripts; types come
// from dist/bench-core/index.d.ts.
export {
  WORKLOADS,
  PER_CALL,
  OPS,
  CORE_OPS,
  rng,
  makeWorkload,
  scaleWorkload,
  workloadChecksum,
  checkAccuracy,
  WRONG_FACTOR,
  quantile,
  describeBuild,
  describeEngine,
} from '../dist/bench-core/index.js';
