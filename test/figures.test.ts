import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { FigureRenderer, findChromium, standaloneHtml } from '../lib/export';
import { heatmap, lineChart } from '../lib/plots';

/** Decodes an 8-bit RGB/RGBA non-interlaced PNG enough to count its distinct colours. */
function decodePng(buf: Buffer): { width: number; height: number; colors: number } {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  let off = 8;
  let width = 0, height = 0, colorType = 0, bitDepth = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('ascii', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') { width = data.readUInt32BE(0); height = data.readUInt32BE(4); bitDepth = data[8]!; colorType = data[9]!; }
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  assert.equal(bitDepth, 8);
  const bpp = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  assert.ok(bpp > 0, `colour type ${colorType}`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const prev = Buffer.alloc(stride);
  const cur = Buffer.alloc(stride);
  const colors = new Set<number>();
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0;
      const b = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      const x = line[i]!;
      let v = x;
      if (f === 1) v = x + a;
      else if (f === 2) v = x + b;
      else if (f === 3) v = x + ((a + b) >> 1);
      else if (f === 4) { const p = a + b - c; const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c); v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c); }
      cur[i] = v & 0xff;
    }
    for (let i = 0; i < stride; i += bpp) colors.add((cur[i]! << 16) | (cur[i + 1]! << 8) | cur[i + 2]!);
    cur.copy(prev);
  }
  return { width, height, colors: colors.size };
}

const chromium = findChromium();

test('figure export: heatmap and line chart to valid, non-blank SVG and 2× PNG', { skip: chromium ? false : 'Chromium not installed (apt-get install chromium)' }, async () => {
  const r = await FigureRenderer.start();
  try {
    const z = Array.from({ length: 27 }, (_, i) => Array.from({ length: 27 }, (_, j) => (i * 27 + j) % 97));
    const hm = await r.render(heatmap(z, { title: 'test heatmap', width: 600, height: 600 }));
    const png = decodePng(hm.png);
    assert.equal(png.width, 1200);
    assert.equal(png.height, 1200);
    assert.ok(png.colors > 50, `heatmap PNG has only ${png.colors} colours`);
    assert.match(hm.svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(hm.svg, /<\/svg>$/);
    assert.match(hm.svg, /test heatmap/);
    const line = await r.render(lineChart([{ name: 'loss', y: [3, 2.5, 2.2, 2.1] }], { title: 'loss curve' }));
    const lp = decodePng(line.png);
    assert.equal(lp.width, 1800);
    assert.ok(lp.colors > 5);
    assert.match(line.svg, /class="scatterlayer/);
  } finally {
    await r.close();
  }
});

test('standalone HTML loads plotly.js from a sibling file (no network)', () => {
  const html = standaloneHtml(lineChart([{ y: [1, 2] }]), 'x');
  assert.match(html, /<script src="plotly.min.js"><\/script>/);
  assert.doesNotMatch(html, /https?:\/\//);
});
