/**
 * A write-up's blocks as Markdown (index.md) and as a standalone HTML page (index.html), and the
 * Markdown-to-HTML conversion the page's prose goes through.
 */
import type { Block } from './blocks';
import { figureHtml, type Figure } from '../../../lib/viz/plots';

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A fence longer than any run of backticks in the text. */
function fence(text: string, info = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}${info}\n${text}\n${f}`;
}

const mdCell = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function toMarkdown(blocks: Block[], scale: number): string {
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

/**
 * --embed-plotly: everything inside index.html — plotly.js inline, each figure drawn from its print spec
 * with its PNG (a data: URL) as the fallback, images as data: URLs.
 */
export interface Embedded {
  plotlyJs: string;
  figures: Map<string, { fig: Figure; png: Buffer }>;
  images: Map<string, Buffer>;
}

export function toHtml(
  blocks: Block[],
  title: string,
  scale: number,
  sizes: Map<string, { width: number; height: number }>,
  embedded?: Embedded,
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
        const inline = embedded?.figures.get(b.base);
        if (inline) {
          const img = `<img src="data:image/png;base64,${inline.png.toString('base64')}" alt="${escapeHtml(b.title || b.id)}"${dims}>`;
          return `<figure id="figure-${escapeHtml(b.id)}">${figureHtml(inline.fig, { divId: `plot-${b.id}`, fallbackHtml: img })}
<figcaption>Figure <code>${escapeHtml(b.id)}</code>${b.title ? `: ${escapeHtml(b.title)}` : ''}</figcaption></figure>`;
        }
        return `<figure id="figure-${escapeHtml(b.id)}"><img src="figures/${escapeHtml(b.base)}.svg" alt="${escapeHtml(b.title || b.id)}"${dims}>
<figcaption>Figure <code>${escapeHtml(b.id)}</code>${b.title ? `: ${escapeHtml(b.title)}` : ''} · <a href="figures/${escapeHtml(b.base)}.png">PNG (${scale}×)</a></figcaption></figure>`;
      }
      case 'image': {
        const data = embedded?.images.get(b.file);
        const src = data ? `data:image/png;base64,${data.toString('base64')}` : `figures/${escapeHtml(b.file)}`;
        return `<figure><img src="${src}" alt="${escapeHtml(b.alt)}"></figure>`;
      }
    }
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
${CSS}
</style>${embedded ? `\n<script>${embedded.plotlyJs}</script>` : ''}</head>
<body><main>
${body.join('\n')}
</main></body></html>
`;
}
