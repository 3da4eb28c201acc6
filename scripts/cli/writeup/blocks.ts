/**
 * An executed notebook read as the blocks of its write-up: prose, code, text outputs, tables (the
 * text/html of lib/runtime/display.ts's `table`), figures (the spec the notebook stores, figure-export's figureOf) and
 * images.
 */
import type { Figure } from '../../../lib/viz/plots';
import { figureOf } from '../../notebooks/figure-export';
import { INJECTED_TAG } from '../../notebooks/parameters';
import { stripAnsi } from '../../notebooks/report';

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
export interface Cell {
  cell_type: string;
  source: string | string[];
  metadata?: { tags?: string[] };
  outputs?: Output[];
}

export interface FigureBlock {
  kind: 'figure';
  id: string;
  base: string;
  title: string;
  fig: Figure;
}
export type Block =
  | { kind: 'markdown'; text: string }
  | { kind: 'code'; text: string }
  | { kind: 'output'; text: string; stream: string }
  | { kind: 'table'; caption: string; header: string[]; rows: string[][] }
  | FigureBlock
  | { kind: 'image'; file: string; alt: string };

export const joined = (s: string | string[] | undefined): string => (Array.isArray(s) ? s.join('') : (s ?? ''));
const unescapeHtml = (s: string): string =>
  s
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&');

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
export function blocksOf(name: string, cells: Cell[], hideCode: boolean): Block[] {
  const blocks: Block[] = [];
  const figureIds = new Set<string>();
  cells.forEach((cell, ci) => {
    const source = joined(cell.source);
    if (cell.cell_type === 'markdown') {
      if (source.trim()) blocks.push({ kind: 'markdown', text: source.trim() });
      return;
    }
    if (cell.cell_type !== 'code') return;
    // The runner's copy of the parameters cell with the values of this run (the write-up says which).
    if (cell.metadata?.tags?.includes(INJECTED_TAG)) return;
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
      const plotly = figureOf(data);
      if (plotly) {
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
