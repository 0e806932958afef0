// `npm start`: the main job on the bundled sample — score real CIFAR-10 logits (WideResNet-16-4, an
// over-confident classifier), print the summary and write report.html. Runs the built CLI (prestart builds).
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { main } = await import(new URL('../dist/cli/main.js', import.meta.url).href);
const rel = (p) => relative(process.cwd(), join(root, p)) || '.';
const args = ['score', rel('data/sample/logits.npy'), '--labels', rel('data/sample/labels.npy'), '--class-names', rel('data/sample/class-names.txt'), '--report', rel('report.html'), ...process.argv.slice(2)];
process.stderr.write(`$ logitkit ${args.join(' ')}\n\n`);
process.exitCode = await main(args);
if (process.exitCode === 0) process.stderr.write(`\nOpen ${rel('report.html')} in a browser to see the reliability diagrams.\n`);
