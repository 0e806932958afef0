// The command line of the two-checkout A/B scripts (score-accum-ab.js, score-block-ab.js): two
// directories A and B, then `--name value` numeric options.
export function abArgs(usage) {
  const argv = process.argv.slice(2);
  const [dirA, dirB] = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1].startsWith('--')));
  if (!dirB) throw new Error(`usage: ${usage}`);
  /** `--name N` as a number, or dflt when absent. */
  const opt = (name, dflt) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  return { dirA, dirB, opt };
}
