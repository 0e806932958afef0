#!/usr/bin/env node
// The `logitkit` command. The CLI is TypeScript compiled into dist/ by `npm run build`.
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
let main;
try {
  ({ main } = await import(entry.href));
} catch (e) {
  if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(fileURLToPath(entry))) {
    process.stderr.write('logitkit: the CLI is not built; run `npm run build` first\n');
    process.exit(1);
  }
  throw e;
}
// A reader that went away (`logitkit score --json | head -c 100`) ends the command quietly with
// exit 0, as other command-line tools end; Node ignores SIGPIPE, so without this every write after
// the close raised an unhandled EPIPE with its stack trace. Any other stream error is still thrown.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e && e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}
process.exitCode = await main(process.argv.slice(2));
