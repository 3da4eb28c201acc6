/**
 * Write-up export: turns executed notebooks into a Markdown post and a standalone HTML page each, with
 * the figures rendered for print (SVG and a PNG at --scale×, light theme, readable font sizes).
 *
 *   node --import tsx scripts/cli/writeup.ts --from out/notebooks --only 05 [--out out/writeup] [--hide-code]
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
import { toHtml, toMarkdown } from './writeup/render';
import { printFigure, printSize } from './writeup/print-figure';

// test/cli/writeup.test.ts checks these two through the command's own module.
export { markdownToHtml } from './writeup/render';
export { printFigure } from './writeup/print-figure';

const ROOT = path.resolve(__dirname, '..', '..');

const USAGE = `usage: node --import tsx scripts/cli/writeup.ts [--from DIR] [--only TEXT]... [--out DIR] [--hide-code]
                                              [--width PX] [--height PX] [--scale N]
  --from DIR     folder of executed notebooks (default out/notebooks, what \`npm run notebooks\` writes)
  --only TEXT    write up only the notebooks whose file name contains TEXT (repeatable; default all)
  --out DIR      where the write-ups go (default out/writeup): <out>/<notebook>/index.md, index.html,
                 figures/<notebook>--<figure id>.svg and .png
  --hide-code    leave the code cells out (their outputs and figures stay)
  --width PX     figure width in CSS pixels (default: the figure's own width, at most 800)
  --height PX    figure height in CSS pixels (default: the figure's own height, scaled with the width)
  --scale N      PNG pixels per CSS pixel (default 2)

Figures are rendered from the Plotly JSON in the executed notebook, in Chromium, with a light theme
and print-size fonts. Without Chromium, the runner's own export (<from>/figures) is copied if it holds
every figure needed; otherwise the command stops with exit 3.

exit codes:
  0    written
  1    rendering failed
  2    bad flag, or an executed notebook missing, unreadable or not executed
  3    Chromium is missing (and the runner's figure export does not have the figures)`;

interface Options {
  from: string;
  out: string;
  only: string[];
  hideCode: boolean;
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
      ['hide-code', 'help'],
      ['only'],
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
    from: (v.from as string | undefined) ?? path.join('out', 'notebooks'),
    out: (v.out as string | undefined) ?? path.join('out', 'writeup'),
    only: (v.only as string[] | undefined) ?? [],
    hideCode: v['hide-code'] === true,
    width: whole('width'),
    height: whole('height'),
    scale,
  };
}

interface Job {
  name: string;
  file: string;
  cells: Cell[];
  blocks: Block[];
}

/** Reads and checks every selected executed notebook; a problem is a Usage error naming the file. */
function loadJobs(o: Options): Job[] {
  const from = path.resolve(ROOT, o.from);
  if (!fs.existsSync(from) || !fs.statSync(from).isDirectory())
    throw new Usage(`--from ${o.from}: folder not found (run \`npm run notebooks\` first, or pass --from DIR)`);
  const all = fs
    .readdirSync(from)
    .filter((f) => f.endsWith('.ipynb'))
    .sort();
  if (all.length === 0)
    throw new Usage(`--from ${o.from}: no executed notebooks (*.ipynb) there; run \`npm run notebooks\` first`);
  const picked = o.only.length ? all.filter((f) => o.only.some((t) => f.includes(t))) : all;
  for (const t of o.only)
    if (!all.some((f) => f.includes(t)))
      throw new Usage(`--only ${t}: no executed notebook in ${o.from} matches (there: ${all.join(', ')})`);
  return picked.map((f) => {
    const file = path.join(from, f);
    const shown = path.join(o.from, f);
    let nb: { cells?: unknown };
    try {
      nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells?: unknown };
    } catch (e) {
      throw new Usage(`${shown}: not a readable notebook: ${(e as Error).message.split('\n')[0]}`);
    }
    if (!Array.isArray(nb.cells)) throw new Usage(`${shown}: not a notebook: no 'cells' list`);
    const cells = nb.cells as Cell[];
    const code = cells.filter((c) => c.cell_type === 'code' && joined(c.source).trim());
    if (code.length > 0 && !code.some((c) => (c.outputs ?? []).length > 0))
      throw new Usage(`${shown}: not an executed notebook (no code cell has outputs); run \`npm run notebooks\` first`);
    const name = f.replace(/\.ipynb$/, '');
    return { name, file, cells, blocks: blocksOf(name, cells, o.hideCode) };
  });
}

/** Where a figure already exported by the runner would be. */
const runnerExport = (o: Options, base: string, ext: string) => path.resolve(ROOT, o.from, 'figures', `${base}.${ext}`);

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
  const figures = jobs.flatMap((j) => j.blocks.filter((b): b is FigureBlock => b.kind === 'figure'));
  let copy = false;
  if (figures.length > 0 && !findChromium()) {
    const missing = figures.filter((f) => !['svg', 'png'].every((e) => fs.existsSync(runnerExport(o, f.base, e))));
    if (missing.length > 0) {
      console.error(
        `writeup: ${figures.length} figure(s) to render and Chromium was not found (${missing.length} not in the runner's export ${path.join(o.from, 'figures')}).\n${CHROMIUM_HINT}`,
      );
      process.exit(3);
    }
    copy = true;
    console.warn(
      `writeup: Chromium not found: copying the runner's figure export from ${path.join(o.from, 'figures')} (screen theme, its own size; --width/--height/--scale not applied)`,
    );
  }

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
      for (const b of j.blocks) {
        if (b.kind === 'figure') {
          const svg = path.join(tmp, 'figures', `${b.base}.svg`);
          const png = path.join(tmp, 'figures', `${b.base}.png`);
          if (renderer) {
            const size = printSize(b.fig, o);
            const r = await renderer.render(printFigure(b.fig, size), o.scale);
            fs.writeFileSync(svg, r.svg);
            fs.writeFileSync(png, r.png);
            sizes.set(b.base, { width: r.width, height: r.height });
          } else {
            fs.copyFileSync(runnerExport(o, b.base, 'svg'), svg);
            fs.copyFileSync(runnerExport(o, b.base, 'png'), png);
          }
        } else if (b.kind === 'image') {
          const [ci, oi] = /--output-(\d+)-(\d+)\.png$/.exec(b.file)!.slice(1).map(Number) as [number, number];
          const data = j.cells[ci - 1]?.outputs?.[oi - 1]?.data?.['image/png'] as string;
          fs.writeFileSync(path.join(tmp, 'figures', b.file), Buffer.from(data.replace(/\s+/g, ''), 'base64'));
        }
      }
      const heading = j.blocks.find((b) => b.kind === 'markdown' && /^#\s/.test(b.text));
      const title = heading && heading.kind === 'markdown' ? heading.text.split('\n')[0]!.replace(/^#\s+/, '') : j.name;
      fs.writeFileSync(path.join(tmp, 'index.md'), toMarkdown(j.blocks, o.scale));
      fs.writeFileSync(path.join(tmp, 'index.html'), toHtml(j.blocks, title, o.scale, sizes));
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
