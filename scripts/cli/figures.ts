/**
 * Exports every figure of the executed notebooks as SVG, PNG (2×) and an offline HTML page, named
 * `<notebook>--<figure id>`, with an index page; optionally embeds each PNG in the notebook's own
 * display bundle (so GitHub and nbconvert show a static image) and refreshes the README's figures.
 *
 *   npm run figures                        # from out/notebooks (runs the notebooks in quick mode if empty)
 *   npm run figures -- --from DIR --out DIR --embed --docs
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseFlags } from './flags';
import { findChromium, CHROMIUM_HINT } from '../../lib/viz/export';
import { exportFigures } from '../notebooks/figure-export';
import { TSX } from '../node-tsx';

const ROOT = path.resolve(__dirname, '..', '..');

/** The README's figures, copied from an export into docs/figures. */
const DOC_FIGURES = ['02-count-tensor--bigram-counts', '05-mlp--mlp-loss', '05-mlp--embedding-2d'];

const USAGE = `usage: npm run figures -- [--from DIR] [--out DIR] [--embed] [--docs]
  --from DIR   folder of executed notebooks (default out/notebooks; when it holds none, the notebooks are
               run there first in quick mode)
  --out DIR    where the figures go (default <from>/figures): <notebook>--<figure id>.svg, .png (2×) and
               .html (interactive, with plotly.min.js beside it), index.html and plotly.min.js
  --embed      also rewrite each executed notebook's figure outputs as the runner does: one text/html with
               the spec and a 1× PNG (nbconvert HTML and GitHub show the image without plotly.js)
  --docs       copy the README's figures (${DOC_FIGURES.join(', ')}) into docs/figures
  --help       this text

Needs Chromium (Debian's /usr/bin/chromium, or SEQUENTIA_CHROMIUM=/path).

exit codes:
  0    exported
  1    export failed
  2    bad flag
  3    Chromium is missing`;

async function main(): Promise<void> {
  let args;
  try {
    const { values: v } = parseFlags(
      process.argv.slice(2),
      ['from', 'out'],
      ['embed', 'docs', 'help'],
      [],
      ['from', 'out'],
    );
    args = {
      from: (v.from as string | undefined) ?? 'out/notebooks',
      out: v.out as string | undefined,
      embed: v.embed === true,
      docs: v.docs === true,
      help: v.help === true,
    };
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  if (!findChromium()) {
    console.error(CHROMIUM_HINT);
    process.exit(3);
  }
  const from = path.resolve(ROOT, args.from!);
  let notebooks = fs.existsSync(from)
    ? fs
        .readdirSync(from)
        .filter((f) => f.endsWith('.ipynb'))
        .sort()
        .map((f) => path.join(from, f))
    : [];
  if (notebooks.length === 0) {
    console.log(`no executed notebooks in ${args.from}: running them first (quick mode)`);
    const r = spawnSync(
      process.execPath,
      [...TSX, path.join(ROOT, 'scripts', 'notebooks', 'run.ts'), '--quick', '--out', from],
      { stdio: 'inherit' },
    );
    if (r.status !== 0) process.exit(r.status ?? 1);
    notebooks = fs
      .readdirSync(from)
      .filter((f) => f.endsWith('.ipynb'))
      .sort()
      .map((f) => path.join(from, f));
  }
  // Same place as the runner's export: a 'figures' folder inside the executed notebooks' folder.
  const outDir = path.resolve(ROOT, args.out ?? path.join(args.from!, 'figures'));
  const rep = await exportFigures(notebooks, outDir, { embed: args.embed });
  const per = rep.figures.map((f) => f.ms);
  console.log(
    `figures: ${rep.figures.length} exported to ${path.relative(ROOT, outDir)} (index.html); browser start ${rep.browserStartMs.toFixed(0)} ms, per figure median ${(per.sort((a, b) => a - b)[Math.floor(per.length / 2)] ?? 0).toFixed(0)} ms`,
  );
  if (args.docs) {
    const docs = path.join(ROOT, 'docs', 'figures');
    fs.mkdirSync(docs, { recursive: true });
    for (const base of DOC_FIGURES) {
      for (const ext of ['svg', 'png']) {
        const src = path.join(outDir, `${base}.${ext}`);
        if (fs.existsSync(src)) fs.copyFileSync(src, path.join(docs, `${base}.${ext}`));
        else console.warn(`figures: ${base}.${ext} not found for docs/`);
      }
    }
    console.log(`figures: README figures refreshed in docs/figures`);
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
