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
import { PLOTLY_MIME, type Figure } from '../../lib/viz/plots';

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

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}
interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
}

interface FigureBlock {
  kind: 'figure';
  id: string;
  base: string;
  title: string;
  fig: Figure;
}
type Block =
  | { kind: 'markdown'; text: string }
  | { kind: 'code'; text: string }
  | { kind: 'output'; text: string; stream: string }
  | { kind: 'table'; caption: string; header: string[]; rows: string[][] }
  | FigureBlock
  | { kind: 'image'; file: string; alt: string };

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

const joined = (s: string | string[] | undefined): string => (Array.isArray(s) ? s.join('') : (s ?? ''));
// eslint-disable-next-line no-control-regex -- terminal escape sequences are control characters
const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '');
const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const unescapeHtml = (s: string): string =>
  s
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&');

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

/** A table as lib/runtime/display.ts's `table` writes it (caption, th, td), or null. */
function parseHtmlTable(html: string): { caption: string; header: string[]; rows: string[][] } | null {
  if (!/^\s*<table[\s>]/i.test(html) || (html.match(/<table[\s>]/gi) ?? []).length !== 1) return null;
  const caption = unescapeHtml(/<caption[^>]*>([^]*?)<\/caption>/i.exec(html)?.[1] ?? '').trim();
  const rows = [...html.matchAll(/<tr[^>]*>([^]*?)<\/tr>/gi)].map((m) =>
    [...(m[1] ?? '').matchAll(/<t([hd])[^>]*>([^]*?)<\/t\1>/gi)].map((c) => ({
      th: c[1]!.toLowerCase() === 'h',
      text: unescapeHtml(c[2] ?? '')
        .replace(/\s+/g, ' ')
        .trim(),
    })),
  );
  const first = rows[0];
  if (!first || first.length === 0 || !first.every((c) => c.th)) return null;
  return { caption, header: first.map((c) => c.text), rows: rows.slice(1).map((r) => r.map((c) => c.text)) };
}

/** The blocks of a notebook's write-up; figures are named `<notebook>--<id>`. */
function blocksOf(name: string, cells: Cell[], hideCode: boolean): Block[] {
  const blocks: Block[] = [];
  const figureIds = new Set<string>();
  cells.forEach((cell, ci) => {
    const source = joined(cell.source);
    if (cell.cell_type === 'markdown') {
      if (source.trim()) blocks.push({ kind: 'markdown', text: source.trim() });
      return;
    }
    if (cell.cell_type !== 'code') return;
    if (!hideCode && source.trim()) blocks.push({ kind: 'code', text: source.replace(/\s+$/, '') });
    let stream: { name: string; text: string } | null = null;
    const flush = () => {
      const text = stream ? stripAnsi(stream.text).replace(/\s+$/, '') : '';
      if (stream && text) blocks.push({ kind: 'output', text, stream: stream.name });
      stream = null;
    };
    (cell.outputs ?? []).forEach((out, oi) => {
      if (out.output_type === 'stream') {
        const s = stream as { name: string; text: string } | null;
        if (s && s.name === out.name) s.text += joined(out.text);
        else {
          flush();
          stream = { name: out.name ?? 'stdout', text: joined(out.text) };
        }
        return;
      }
      flush();
      if (out.output_type === 'error') {
        const tb = (out.traceback ?? []).join('\n');
        blocks.push({ kind: 'output', stream: 'error', text: stripAnsi(tb || `${out.ename}: ${out.evalue}`).trim() });
        return;
      }
      const data = out.data ?? {};
      const plotly = data[PLOTLY_MIME] as Figure | undefined;
      if (plotly && Array.isArray(plotly.data)) {
        let id = (out.metadata?.sequentia as { figure?: string } | undefined)?.figure ?? `cell${ci + 1}-${oi + 1}`;
        while (figureIds.has(id)) id += '-2';
        figureIds.add(id);
        const t = (plotly.layout ?? {}).title as { text?: string } | string | undefined;
        const title = (typeof t === 'string' ? t : (t?.text ?? '')).replace(/<[^>]*>/g, '');
        blocks.push({ kind: 'figure', id, base: `${name}--${id}`, title, fig: plotly });
        return;
      }
      if (typeof data['text/markdown'] === 'string' || Array.isArray(data['text/markdown'])) {
        blocks.push({ kind: 'markdown', text: joined(data['text/markdown'] as string | string[]).trim() });
        return;
      }
      const html = data['text/html'] as string | string[] | undefined;
      const table = html !== undefined ? parseHtmlTable(joined(html)) : null;
      if (table) {
        blocks.push({ kind: 'table', ...table });
        return;
      }
      const png = data['image/png'] as string | undefined;
      if (typeof png === 'string') {
        blocks.push({
          kind: 'image',
          file: `${name}--output-${ci + 1}-${oi + 1}.png`,
          alt: `output of cell ${ci + 1}`,
        });
        return;
      }
      const text = data['text/plain'];
      if (text !== undefined) {
        const t = stripAnsi(joined(text as string | string[])).replace(/\s+$/, '');
        if (t) blocks.push({ kind: 'output', text: t, stream: 'result' });
      }
    });
    flush();
  });
  return blocks;
}

/** A fence longer than any run of backticks in the text. */
function fence(text: string, info = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}${info}\n${text}\n${f}`;
}

const mdCell = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');

function toMarkdown(blocks: Block[], scale: number): string {
  const parts = blocks.map((b) => {
    switch (b.kind) {
      case 'markdown':
        return b.text;
      case 'code':
        return fence(b.text, 'ts');
      case 'output':
        return fence(b.text);
      case 'table': {
        const width = Math.max(b.header.length, ...b.rows.map((r) => r.length));
        const pad = (r: string[]) => Array.from({ length: width }, (_, i) => mdCell(r[i] ?? ''));
        const lines = [
          `| ${pad(b.header).join(' | ')} |`,
          `|${' --- |'.repeat(width)}`,
          ...b.rows.map((r) => `| ${pad(r).join(' | ')} |`),
        ];
        return (b.caption ? `**${b.caption}**\n\n` : '') + lines.join('\n');
      }
      case 'figure':
        return `![${b.title || b.id}](figures/${b.base}.svg)\n\n*Figure \`${b.id}\`* · [PNG (${scale}×)](figures/${b.base}.png)`;
      case 'image':
        return `![${b.alt}](figures/${b.file})`;
    }
  });
  return parts.join('\n\n') + '\n';
}

/** Inline Markdown: code spans, images, links, strong, emphasis, hard breaks; everything else escaped. */
function inline(text: string): string {
  const held: string[] = [];
  const hold = (html: string) => `\u0000${held.push(html) - 1}\u0000`;
  let s = text.replace(/(`+)([^]*?[^`])\1(?!`)/g, (_m, _f: string, code: string) =>
    hold(`<code>${escapeHtml(code.trim())}</code>`),
  );
  s = s.replace(/!\[([^\]]*)\]\(([^)\s]+)(?:\s+"([^"]*)")?\)/g, (_m, alt: string, src: string) =>
    hold(`<img src="${escapeHtml(src)}" alt="${escapeHtml(alt)}">`),
  );
  s = s.replace(/\[([^\]]+)\]\(([^)\s]+)(?:\s+"([^"]*)")?\)/g, (_m, label: string, href: string) =>
    hold(`<a href="${escapeHtml(href)}">${inline(label)}</a>`),
  );
  s = escapeHtml(s)
    .replace(/\*\*(?=\S)([^]*?\S)\*\*/g, '<strong>$1</strong>')
    .replace(/__(?=\S)([^]*?\S)__/g, '<strong>$1</strong>')
    .replace(/(^|[^*\w])\*(?=\S)([^*]*?\S)\*(?![*\w])/g, '$1<em>$2</em>')
    .replace(/(^|[^_\w])_(?=\S)([^_]*?\S)_(?![_\w])/g, '$1<em>$2</em>')
    .replace(/(?: {2,}|\\)\n/g, '<br>\n');
  // eslint-disable-next-line no-control-regex -- NUL marks a held piece
  return s.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => held[Number(i)] ?? '');
}

const LIST_ITEM = /^( {0,3})([-*+]|\d+[.)])\s+(.*)$/;
const splitRow = (line: string): string[] =>
  line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, '|'));

/**
 * Markdown to HTML for notebook prose: headings, paragraphs, fenced code, lists (one level, with
 * continuation lines), block quotes, GFM tables, rules and the inline forms of `inline`. Raw HTML is
 * shown as text (escaped), not interpreted.
 */
export function markdownToHtml(md: string): string {
  const lines = md.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (!line.trim()) {
      i++;
      continue;
    }
    const fenceOpen = /^\s*(`{3,}|~{3,})\s*([\w+-]*)/.exec(line);
    if (fenceOpen) {
      const marker = fenceOpen[1]!;
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.trim().startsWith(marker)) body.push(lines[i++]!);
      i++;
      const lang = fenceOpen[2] ? ` class="language-${escapeHtml(fenceOpen[2])}"` : '';
      out.push(`<pre><code${lang}>${escapeHtml(body.join('\n'))}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const n = heading[1]!.length;
      out.push(`<h${n}>${inline(heading[2]!)}</h${n}>`);
      i++;
      continue;
    }
    if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) {
      out.push('<hr>');
      i++;
      continue;
    }
    if (line.trim().startsWith('|') && /^\s*\|?\s*:?-{3,}/.test(lines[i + 1] ?? '')) {
      const header = splitRow(line);
      const rows: string[][] = [];
      i += 2;
      while (i < lines.length && lines[i]!.trim().startsWith('|')) rows.push(splitRow(lines[i++]!));
      out.push(
        `<table><thead><tr>${header.map((h) => `<th>${inline(h)}</th>`).join('')}</tr></thead><tbody>${rows
          .map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`)
          .join('')}</tbody></table>`,
      );
      continue;
    }
    if (line.startsWith('>')) {
      const body: string[] = [];
      while (i < lines.length && lines[i]!.startsWith('>')) body.push(lines[i++]!.replace(/^> ?/, ''));
      out.push(`<blockquote>${markdownToHtml(body.join('\n'))}</blockquote>`);
      continue;
    }
    const item = LIST_ITEM.exec(line);
    if (item) {
      const ordered = /\d/.test(item[2]!);
      const items: string[] = [];
      while (i < lines.length) {
        const m = LIST_ITEM.exec(lines[i]!);
        if (m && /\d/.test(m[2]!) === ordered) items.push(m[3]!);
        else if (lines[i]!.trim() && /^\s+/.test(lines[i]!) && items.length)
          items[items.length - 1] += `\n${lines[i]!.trim()}`;
        else break;
        i++;
      }
      const tag = ordered ? 'ol' : 'ul';
      const start = ordered && item[2] !== '1.' && item[2] !== '1)' ? ` start="${parseInt(item[2]!, 10)}"` : '';
      out.push(`<${tag}${start}>${items.map((t) => `<li>${inline(t)}</li>`).join('')}</${tag}>`);
      continue;
    }
    const para: string[] = [];
    while (
      i < lines.length &&
      lines[i]!.trim() &&
      !/^(#{1,6}\s|\s*(`{3,}|~{3,})|>)/.test(lines[i]!) &&
      !(para.length > 0 && LIST_ITEM.test(lines[i]!))
    )
      para.push(lines[i++]!);
    out.push(`<p>${inline(para.join('\n'))}</p>`);
  }
  return out.join('\n');
}

const CSS = `body{max-width:50rem;margin:2.5rem auto;padding:0 1.2rem;font:17px/1.6 Georgia,"Times New Roman",serif;color:#1f2328;background:#fff}
h1,h2,h3,h4{font-family:Helvetica,Arial,sans-serif;line-height:1.25;margin:1.8em 0 .6em}h1{font-size:2em}h2{font-size:1.45em;border-bottom:1px solid #e5e5e5;padding-bottom:.2em}
code,pre{font:14px/1.45 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}:not(pre)>code{background:#f2f3f5;padding:.1em .3em;border-radius:3px}
pre{background:#f6f8fa;border:1px solid #e5e7eb;border-radius:4px;padding:.7em .9em;overflow-x:auto}
pre.output{background:#fff;border-left:3px solid #9ca3af;border-radius:0}pre.stderr{border-left-color:#d97706}pre.error{border-left-color:#dc2626;color:#991b1b}
table{border-collapse:collapse;margin:1em 0;font:14px/1.4 Helvetica,Arial,sans-serif}th,td{border:1px solid #d0d7de;padding:.3em .7em;text-align:left}th{background:#f6f8fa}
caption{font-weight:bold;text-align:left;padding:.3em 0}figure{margin:1.5em 0}figure img{max-width:100%;height:auto;display:block}
figcaption{font:13px Helvetica,Arial,sans-serif;color:#57606a;margin-top:.4em}a{color:#0969da}blockquote{margin:0;padding-left:1em;border-left:3px solid #d0d7de;color:#57606a}`;

function toHtml(
  blocks: Block[],
  title: string,
  scale: number,
  sizes: Map<string, { width: number; height: number }>,
): string {
  const body = blocks.map((b) => {
    switch (b.kind) {
      case 'markdown':
        return markdownToHtml(b.text);
      case 'code':
        return `<pre class="code"><code class="language-ts">${escapeHtml(b.text)}</code></pre>`;
      case 'output':
        return `<pre class="output ${b.stream}">${escapeHtml(b.text)}</pre>`;
      case 'table':
        return `<table>${b.caption ? `<caption>${escapeHtml(b.caption)}</caption>` : ''}<thead><tr>${b.header
          .map((h) => `<th>${escapeHtml(h)}</th>`)
          .join('')}</tr></thead><tbody>${b.rows
          .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
          .join('')}</tbody></table>`;
      case 'figure': {
        const size = sizes.get(b.base);
        const dims = size ? ` width="${size.width}" height="${size.height}"` : '';
        return `<figure id="figure-${escapeHtml(b.id)}"><img src="figures/${escapeHtml(b.base)}.svg" alt="${escapeHtml(b.title || b.id)}"${dims}>
<figcaption>Figure <code>${escapeHtml(b.id)}</code>${b.title ? `: ${escapeHtml(b.title)}` : ''} · <a href="figures/${escapeHtml(b.base)}.png">PNG (${scale}×)</a></figcaption></figure>`;
      }
      case 'image':
        return `<figure><img src="figures/${escapeHtml(b.file)}" alt="${escapeHtml(b.alt)}"></figure>`;
    }
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
${CSS}
</style></head>
<body><main>
${body.join('\n')}
</main></body></html>
`;
}

/** Size for print: --width (else the figure's own width, at most 800) and --height (else scaled). */
function printSize(fig: Figure, o: Pick<Options, 'width' | 'height'>): { width: number; height: number } {
  const ownW = Number(fig.layout?.width);
  const ownH = Number(fig.layout?.height);
  const hasW = Number.isFinite(ownW) && ownW > 0;
  const h0 = Number.isFinite(ownH) && ownH > 0 ? ownH : 450;
  const width = o.width ?? (hasW ? Math.min(ownW, 800) : 800);
  const height = o.height ?? (hasW ? Math.round((h0 * width) / ownW) : h0);
  return { width, height };
}

const axisTitle = (t: unknown, size: number): Record<string, unknown> | undefined => {
  if (t === undefined || t === null) return undefined;
  const obj = typeof t === 'string' ? { text: t } : (t as Record<string, unknown>);
  return { ...obj, font: { ...(obj.font as object | undefined), size, color: '#1f2328' } };
};

/**
 * The figure restyled for print: white background, dark text, larger fonts (14 px text, 18 px title,
 * 13 px ticks), light grid; traces, annotations and ids untouched.
 */
export function printFigure(fig: Figure, size: { width: number; height: number }): Figure {
  const layout: Record<string, unknown> = { ...fig.layout };
  delete layout.template;
  for (const key of Object.keys(layout)) {
    if (!/^[xy]axis\d*$/.test(key)) continue;
    const a = (layout[key] ?? {}) as Record<string, unknown>;
    layout[key] = {
      ...a,
      tickfont: { ...(a.tickfont as object | undefined), size: 13, color: '#1f2328' },
      title: axisTitle(a.title, 15),
      gridcolor: '#e5e7eb',
      zerolinecolor: '#9ca3af',
      linecolor: '#57606a',
    };
  }
  return {
    data: fig.data,
    layout: {
      ...layout,
      paper_bgcolor: '#ffffff',
      plot_bgcolor: '#ffffff',
      font: {
        ...(layout.font as object | undefined),
        family: 'Helvetica, Arial, sans-serif',
        size: 14,
        color: '#1f2328',
      },
      title: axisTitle(layout.title, 18),
      legend: { ...(layout.legend as object | undefined), font: { size: 13 } },
      // room for the larger title
      ...(layout.title !== undefined && typeof (layout.margin as { t?: unknown } | undefined)?.t === 'number'
        ? { margin: { ...(layout.margin as object), t: (layout.margin as { t: number }).t + 10 } }
        : {}),
      width: size.width,
      height: size.height,
    },
    ...(fig.config ? { config: fig.config } : {}),
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
