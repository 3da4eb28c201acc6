/**
 * The figure check: every figure of the executed notebooks in DIR measured at every size a person sees
 * it (scripts/notebooks/figure-layout.ts); prints each problem as `<notebook> <figure id> [<size>]:
 * <what>`, then a count; exit 1 when there is any, 2 for bad input.
 *
 *   node --require tsx/cjs scripts/notebooks/figure-check.ts DIR [--only TEXT]    (npm test: out/ci-notebooks)
 */
import fs from 'node:fs';
import path from 'node:path';
import { figureOutputs } from './figure-export';
import { startChecker, violations, viewsOf } from './figure-layout';
import { parseFlags } from '../cli/flags';

/** Checks every figure of the executed notebooks in `dir`; prints each problem; returns their number. */
async function checkNotebookFigures(
  dir: string,
  only: readonly string[] = [],
  log: (s: string) => void = console.log,
): Promise<{ figures: number; problems: number }> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`figure check: no folder ${dir}`);
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ipynb') && (only.length === 0 || only.some((o) => f.includes(o))))
    .sort();
  if (files.length === 0) throw new Error(`figure check: no executed notebooks (*.ipynb) in ${dir}`);
  const checker = await startChecker();
  let figures = 0,
    problems = 0;
  try {
    for (const f of files) {
      const nb = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Parameters<typeof figureOutputs>[0];
      for (const { id, fig } of figureOutputs(nb)) {
        figures++;
        for (const view of viewsOf(fig))
          for (const p of violations(await checker.measure(view), view)) {
            problems++;
            log(`${path.basename(f, '.ipynb')} ${id} [${view.name}]: ${p}`);
          }
      }
    }
  } finally {
    await checker.close();
  }
  if (figures === 0) throw new Error(`figure check: the notebooks in ${dir} hold no figures`);
  log(`figure check: ${figures} figures in ${files.length} notebooks, ${problems} problem(s)`);
  return { figures, problems };
}

async function main(): Promise<void> {
  const usage = 'usage: node --require tsx/cjs scripts/notebooks/figure-check.ts DIR [--only TEXT]...';
  let dir: string, only: string[];
  try {
    const args = process.argv.slice(2);
    const pos = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--only');
    if (pos.length !== 1) throw new Error(`give one folder of executed notebooks (got ${pos.length})`);
    const { values } = parseFlags(
      args.filter((a) => a !== pos[0]),
      ['only'],
      [],
      ['only'],
    );
    dir = path.resolve(pos[0]!);
    only = (values.only as string[] | undefined) ?? [];
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage}`);
    process.exit(2);
  }
  const { problems } = await checkNotebookFigures(dir, only);
  process.exit(problems > 0 ? 1 : 0);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(2);
  });
}
