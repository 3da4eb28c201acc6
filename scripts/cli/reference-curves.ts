/**
 * Collects long-run loss curves (JSONL logs with step, train_loss, test_loss) into
 * docs/reference/transformer-names.json, which notebook 09 plots. The logs come from `npm run makemore`
 * (its work dir's log.jsonl) and from the PyTorch reference run:
 *
 *   OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/torch/makemore.py --max-steps 20000 > out/torch-transformer.jsonl
 *
 *   node --require tsx/cjs scripts/reference-curves.ts "Sequentia (tfjs wasm)=out/names-transformer-v2/log.jsonl" \
 *     "PyTorch 1.13=out/torch-transformer.jsonl" [--out docs/reference/transformer-names.json]
 */
import fs from 'node:fs';
import path from 'node:path';
import { readLossLog } from '../../lib/train/curves';

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? (args[outAt + 1] as string) : 'docs/reference/transformer-names.json';
const specs = args.filter((_, i) => outAt < 0 || (i !== outAt && i !== outAt + 1));
if (specs.length === 0 || specs.some((s) => !s.includes('='))) {
  console.error('usage: reference-curves.ts "label=log.jsonl"... [--out file.json]');
  process.exit(2);
}
const curves = specs.map((spec) => {
  const [label, file] = [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)];
  const rows = readLossLog(file);
  const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
  return {
    label,
    source: file,
    step: rows.map((r) => r.step),
    train: rows.map((r) => r4(r.train_loss)),
    test: rows.map((r) => r4(r.test_loss)),
  };
});
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify({ generated: new Date().toISOString(), curves }, null, 1) + '\n');
console.log(`${out}: ${curves.map((c) => `${c.label} (${c.step.length} points)`).join(', ')}`);
