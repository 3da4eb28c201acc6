/**
 * Write-up export: turns executed notebooks into a Markdown post and a standalone HTML page each, with
 * the figures rendered for print (SVG and a PNG at --scale×, light theme, readable font sizes).
 *
 *   node --require tsx/cjs scripts/cli/writeup.ts [--from out/notebooks] --only 05 [--out out/writeup] [--hide-code]
 *
 * For each notebook: <out>/<notebook>/index.md, index.html and figures/<notebook>--<id>.{svg,png}.
 * Markdown cells go in as written; code cells as ```ts blocks (unless --hide-code); text outputs as
 * plain fenced blocks; tables (the text/html of lib/runtime/display.ts's `table`) as Markdown tables;
 * figures (the Plotly JSON stored in the executed notebook) as images.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseFlags, type FlagValue } from './flags';
import { CHROMIUM_HINT, FigureRenderer, findChromium } from '../../lib/viz/export';
import { blocksOf, joined, type Block, type Cell, type FigureBlock } from './writeup/blocks';
import { toHtml, toMarkdown, type Embedded } from './writeup/render';
import { plotlyJsPath } from '../../lib/viz/plots';
import { printFigure, printSize } from './writeup/print-figure';

// test/cli/writeup.test.ts checks these two through the command's own module.
export { markdownToHtml } from './writeup/render';
export { printFigure } from './writeup/print-figure';

const ROOT = path.resolve(__dirname, '..', '..');

const USAGE = `usage: node --require tsx/cjs scripts/cli/writeup.ts [--from DIR] [--only TEXT]... [--out DIR] [--hide-code]
                                              [--width PX] [--height PX] [--scale N] [--embed-plotly]
  --from DIR     folder of executed notebooks (repeatable). Default: out/notebooks (\`npm run notebooks\`)
                 and out/ci-notebooks (\`npm test\`'s quick run); each notebook comes from the folder
                 holding its most recently executed copy, and the command prints which it used
  --only TEXT    write up only the notebooks whose file name contains TEXT (repeatable; default all)
  --out DIR      where the write-ups go (default out/writeup): <out>/<notebook>/index.md, index.html,
                 figures/<notebook>--<figure id>.svg and .png
  --hide-code    leave the code cells out (their outputs and figures stay)
  --width PX     figure width in CSS pixels (default: the figure's own width, at most 800)
  --height PX    figure height in CSS pixels (default: the figure's own height, scaled with the width)
  --scale N      PNG pixels per CSS pixel (default 2)
  --embed-plotly index.html as one self-contained file to share: plotly.js inside it (about 4.8 MB), each
                 figure interactive with its PNG inside as the fallback, no figures/ folder needed

A write-up of a quick run says so at its top (with the values that ran); the cell the runner injects
with those values is left out. Figures are rendered from the spec stored in the executed notebook, in Chromium, with a light theme
and print-size fonts. Without Chromium, the runner's own export (<from>/figures) is copied if it holds
every figure needed; otherwise the command stops with exit 3.

exit codes:
  0    written
  1    rendering failed
  2    bad flag, or an executed notebook missing, unreadable or not executed
  3    Chromium is missing (and the runner's figure export does not have the figures)`;

interface ParameterSets {
  parameter_sets?: Record<string, Record<string, unknown>>;
}

/** Where `npm run notebooks` and `npm test` write their executed notebooks. */
const DEFAULT_FROM = [path.join('out', 'notebooks'), path.join('out', 'ci-notebooks')];

interface Options {
  from: string[];
  /** true when --from was not given: folders of DEFAULT_FROM that do not exist are skipped */
  defaultFrom: boolean;
  out: string;
  only: string[];
  hideCode: boolean;
  embedPlotly: boolean;
  width: number | null;
  height: number | null;
  scale: number;
}

/** Exit 2: a bad flag (printed with the usage) or a bad input file (printed alone). */
class Usage extends Error {
  constructor(
    message: string,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

function parseOptions(argv: string[]): Options | 'help' {
  let v: Record<string, FlagValue>;
  try {
    v = parseFlags(
      argv,
      ['from', 'out', 'only', 'width', 'height', 'scale'],
      ['hide-code', 'embed-plotly', 'help'],
      ['only', 'from'],
      ['from', 'out'],
    ).values;
  } catch (e) {
    throw new Usage((e as Error).message, true);
  }
  if (v.help === true) return 'help';
  const whole = (flag: string): number | null => {
    const raw = v[flag] as string | undefined;
    if (raw === undefined) return null;
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(n) || n < 50 || n > 10_000)
      throw new Usage(`--${flag} must be a whole number of pixels from 50 to 10000, got '${raw}'`, true);
    return n;
  };
  const scaleRaw = (v.scale as string | undefined) ?? '2';
  const scale = Number(scaleRaw);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 8 || scaleRaw.trim() === '')
    throw new Usage(`--scale must be a number above 0 and at most 8, got '${scaleRaw}'`, true);
  return {
    from: (v.from as string[] | undefined) ?? DEFAULT_FROM,
    defaultFrom: v.from === undefined,
    out: (v.out as string | undefined) ?? path.join('out', 'writeup'),
    only: (v.only as string[] | undefined) ?? [],
    hideCode: v['hide-code'] === true,
    embedPlotly: v['embed-plotly'] === true,
    width: whole('width'),
    height: whole('height'),
    scale,
  };
}

interface Job {
  name: string;
  file: string;
  /** the --from folder it came from, as given */
  from: string;
  /** metadata.sequentia.parameter_set of the run ('quick', 'full'; absent in older copies) */
  set: string | undefined;
  cells: Cell[];
  blocks: Block[];
}

/** For each notebook name, the folder (of `froms`) holding its most recently executed copy. */
function newestCopies(froms: string[]): Map<string, string> {
  const best = new Map<string, { from: string; mtime: number }>();
  for (const from of froms) {
    for (const f of fs.readdirSync(path.resolve(ROOT, from)).filter((f) => f.endsWith('.ipynb'))) {
      const mtime = fs.statSync(path.resolve(ROOT, from, f)).mtimeMs;
      const seen = best.get(f);
      if (!seen || mtime > seen.mtime) best.set(f, { from, mtime });
    }
  }
  return new Map([...best].map(([f, b]) => [f, b.from]));
}

/** Reads and checks every selected executed notebook; a problem is a Usage error naming the file. */
function loadJobs(o: Options): Job[] {
  const isDir = (d: string) => fs.existsSync(path.resolve(ROOT, d)) && fs.statSync(path.resolve(ROOT, d)).isDirectory();
  const froms = o.defaultFrom ? o.from.filter(isDir) : o.from;
  if (froms.length === 0)
    throw new Usage(
      `${o.from.join(', ')}: no folder of executed notebooks (run \`npm run notebooks\` first, or pass --from DIR)`,
    );
  for (const from of froms)
    if (!isDir(from))
      throw new Usage(`--from ${from}: folder not found (run \`npm run notebooks\` first, or pass --from DIR)`);
  const where = newestCopies(froms);
  const all = [...where.keys()].sort();
  const shownFrom = froms.join(', ');
  if (all.length === 0)
    throw new Usage(`--from ${shownFrom}: no executed notebooks (*.ipynb) there; run \`npm run notebooks\` first`);
  const picked = o.only.length ? all.filter((f) => o.only.some((t) => f.includes(t))) : all;
  for (const t of o.only)
    if (!all.some((f) => f.includes(t)))
      throw new Usage(`--only ${t}: no executed notebook in ${shownFrom} matches (there: ${all.join(', ')})`);
  return picked.map((f) => {
    const from = where.get(f) as string;
    const file = path.resolve(ROOT, from, f);
    const shown = path.join(from, f);
    let nb: {
      cells?: unknown;
      metadata?: { sequentia?: { parameter_set?: string; parameters?: Record<string, unknown> } & ParameterSets };
    };
    try {
      nb = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof nb;
    } catch (e) {
      throw new Usage(`${shown}: not a readable notebook: ${(e as Error).message.split('\n')[0]}`);
    }
    if (!Array.isArray(nb.cells)) throw new Usage(`${shown}: not a notebook: no 'cells' list`);
    const cells = nb.cells as Cell[];
    const code = cells.filter((c) => c.cell_type === 'code' && joined(c.source).trim());
    if (code.length > 0 && !code.some((c) => (c.outputs ?? []).length > 0))
      throw new Usage(`${shown}: not an executed notebook (no code cell has outputs); run \`npm run notebooks\` first`);
    const name = f.replace(/\.ipynb$/, '');
    const seq = nb.metadata?.sequentia;
    const set = seq?.parameter_set;
    const blocks = blocksOf(name, cells, o.hideCode);
    if (set === 'quick') {
      // Right under the title: the numbers below come from shrunken training, whatever the prose quotes.
      const ran = Object.keys(seq?.parameter_sets?.quick ?? {})
        .map((k) => `${k} = ${JSON.stringify(seq?.parameters?.[k])}`)
        .join(', ');
      const at = blocks.findIndex((b) => b.kind === 'markdown' && /^#\s/.test(b.text));
      blocks.splice(at + 1, 0, {
        kind: 'markdown',
        text: `> **Quick mode.** This write-up comes from a quick run${ran ? ` (${ran})` : ''}: training is shrunken so every cell runs fast, and the numbers and figures below are that run's — not the full run the prose describes.`,
      });
    }
    return { name, file, from, set, cells, blocks };
  });
}

/** Where a figure already exported by the runner would be. */
const runnerExport = (from: string, base: string, ext: string) => path.resolve(ROOT, from, 'figures', `${base}.${ext}`);

async function run(o: Options): Promise<void> {
  const jobs = loadJobs(o);
  const outDir = path.resolve(ROOT, o.out);
  for (const j of jobs) {
    const dir = path.join(outDir, j.name);
    if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0 && !fs.existsSync(path.join(dir, 'index.md')))
      throw new Usage(
        `--out ${o.out}: ${path.join(o.out, j.name)} exists and is not a write-up (no index.md); not overwriting it`,
      );
  }
  const figures = jobs.flatMap((j) =>
    j.blocks.filter((b): b is FigureBlock => b.kind === 'figure').map((b) => ({ ...b, from: j.from })),
  );
  const exportDirs = [...new Set(jobs.map((j) => path.join(j.from, 'figures')))].join(', ');
  let copy = false;
  if (figures.length > 0 && !findChromium()) {
    const missing = figures.filter((f) => !['svg', 'png'].every((e) => fs.existsSync(runnerExport(f.from, f.base, e))));
    if (missing.length > 0) {
      console.error(
        `writeup: ${figures.length} figure(s) to render and Chromium was not found (${missing.length} not in the runner's export ${exportDirs}).\n${CHROMIUM_HINT}`,
      );
      process.exit(3);
    }
    copy = true;
    console.warn(
      `writeup: Chromium not found: copying the runner's figure export from ${exportDirs} (screen theme, its own size; --width/--height/--scale not applied)`,
    );
  }
  for (const j of jobs)
    console.log(
      `writeup: ${j.name} from ${path.join(j.from, path.basename(j.file))}${j.set === 'quick' ? ' (quick mode)' : ''}`,
    );

  const renderer = figures.length > 0 && !copy ? await FigureRenderer.start() : null;
  let tmpDir: string | null = null; // a half-written write-up, removed if anything fails
  try {
    for (const j of jobs) {
      const final = path.join(outDir, j.name);
      const tmp = path.join(outDir, `.${j.name}.${process.pid}.tmp`);
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.mkdirSync(path.join(tmp, 'figures'), { recursive: true });
      tmpDir = tmp;
      const sizes = new Map<string, { width: number; height: number }>();
      const embedded: Embedded | undefined = o.embedPlotly
        ? { plotlyJs: fs.readFileSync(plotlyJsPath(), 'utf8'), figures: new Map(), images: new Map() }
        : undefined;
      for (const b of j.blocks) {
        if (b.kind === 'figure') {
          const svg = path.join(tmp, 'figures', `${b.base}.svg`);
          const png = path.join(tmp, 'figures', `${b.base}.png`);
          const size = printSize(b.fig, o);
          const printed = printFigure(b.fig, size);
          if (renderer) {
            const r = await renderer.render(printed, o.scale);
            fs.writeFileSync(svg, r.svg);
            fs.writeFileSync(png, r.png);
            sizes.set(b.base, { width: r.width, height: r.height });
          } else {
            fs.copyFileSync(runnerExport(j.from, b.base, 'svg'), svg);
            fs.copyFileSync(runnerExport(j.from, b.base, 'png'), png);
          }
          embedded?.figures.set(b.base, { fig: printed, png: fs.readFileSync(png) });
        } else if (b.kind === 'image') {
          const [ci, oi] = /--output-(\d+)-(\d+)\.png$/.exec(b.file)!.slice(1).map(Number) as [number, number];
          const data = j.cells[ci - 1]?.outputs?.[oi - 1]?.data?.['image/png'] as string;
          const bytes = Buffer.from(data.replace(/\s+/g, ''), 'base64');
          fs.writeFileSync(path.join(tmp, 'figures', b.file), bytes);
          embedded?.images.set(b.file, bytes);
        }
      }
      const heading = j.blocks.find((b) => b.kind === 'markdown' && /^#\s/.test(b.text));
      const title = heading && heading.kind === 'markdown' ? heading.text.split('\n')[0]!.replace(/^#\s+/, '') : j.name;
      fs.writeFileSync(path.join(tmp, 'index.md'), toMarkdown(j.blocks, o.scale));
      fs.writeFileSync(path.join(tmp, 'index.html'), toHtml(j.blocks, title, o.scale, sizes, embedded));
      fs.rmSync(final, { recursive: true, force: true });
      fs.renameSync(tmp, final);
      tmpDir = null;
      const n = j.blocks.filter((b) => b.kind === 'figure').length;
      console.log(`writeup: ${path.join(o.out, j.name)}/index.md, index.html, ${n} figure(s)`);
    }
  } finally {
    if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
    await renderer?.close();
  }
}

async function main(): Promise<void> {
  let o: Options | 'help';
  try {
    o = parseOptions(process.argv.slice(2));
    if (o === 'help') {
      console.log(USAGE);
      return;
    }
    await run(o);
  } catch (e) {
    if (e instanceof Usage) {
      console.error(e.showUsage ? `${e.message}\n${USAGE}` : `${e.message}\n(--help lists the flags)`);
      process.exit(2);
    }
    throw e;
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(`writeup: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  });
}
