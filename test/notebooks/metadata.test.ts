/**
 * Committed notebooks open clean: their metadata is exactly what classic Notebook copies from the kernel
 * when it starts (kernelspec and kernel_info's language_info, scripts/notebooks/kernel-info.cjs — the kernel
 * test checks the running kernel reports that), and they hold no outputs or execution counts, so opening one
 * does not mark it modified. `node scripts/notebooks/kernel-info.cjs --write` normalises them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const info = createRequire(__filename)('../../scripts/notebooks/kernel-info.cjs') as {
  languageInfo: () => Record<string, unknown>;
  KERNELSPEC: Record<string, string>;
  committedNotebooks: () => string[];
  normalised: (text: string) => string;
  ROOT: string;
};

interface Nb {
  metadata: { kernelspec?: unknown; language_info?: unknown };
  cells: { cell_type: string; outputs?: unknown[]; execution_count?: number | null }[];
}

test('every committed notebook: kernelspec and language_info as the kernel reports them, no outputs', () => {
  const files = info.committedNotebooks();
  assert.equal(files.length, 24, `notebooks/ and notebooks/solutions/: ${files.join(', ')}`);
  for (const rel of files) {
    const text = fs.readFileSync(path.join(info.ROOT, rel), 'utf8');
    const nb = JSON.parse(text) as Nb;
    assert.deepEqual(nb.metadata.kernelspec, info.KERNELSPEC, `${rel}: metadata.kernelspec`);
    assert.deepEqual(nb.metadata.language_info, info.languageInfo(), `${rel}: metadata.language_info`);
    nb.cells.forEach((c, i) => {
      if (c.cell_type !== 'code') return;
      assert.deepEqual(c.outputs, [], `${rel}: cell ${i + 1} has outputs`);
      assert.equal(c.execution_count, null, `${rel}: cell ${i + 1} has an execution count`);
    });
    assert.equal(text, info.normalised(text), `${rel}: run node scripts/notebooks/kernel-info.cjs --write`);
  }
});

test("the kernelspec install-local writes names what the notebooks hold; language_info's version is the compiler's", () => {
  const spec = JSON.parse(
    fs.readFileSync(path.join(info.ROOT, '.jupyter', 'kernels', 'sequentia-ts', 'kernel.json'), 'utf8'),
  ) as { display_name: string; language: string };
  assert.deepEqual(
    { display_name: spec.display_name, language: spec.language, name: 'sequentia-ts' },
    info.KERNELSPEC,
  );
  const tsPkg = require.resolve('@tslab/typescript-for-tslab/package.json', {
    paths: [path.dirname(require.resolve('tslab/package.json'))],
  });
  const version = (JSON.parse(fs.readFileSync(tsPkg, 'utf8')) as { version: string }).version;
  assert.match(version, /^\d+\.\d+\.\d+$/);
  assert.equal(info.languageInfo().version, version);
});

test('normalised() drops outputs and counts and rewrites only the kernel metadata', () => {
  const nb = {
    cells: [
      { cell_type: 'code', execution_count: 3, id: 'a', metadata: {}, outputs: [{ output_type: 'stream' }], source: ['1'] },
      { cell_type: 'markdown', id: 'b', metadata: {}, source: ['# t'] },
    ],
    metadata: { language_info: { name: 'typescript', version: '3.7.2' }, sequentia: { x: 1 } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  const out = JSON.parse(info.normalised(JSON.stringify(nb))) as typeof nb & { metadata: Record<string, unknown> };
  assert.deepEqual(out.cells[0], { ...nb.cells[0], execution_count: null, outputs: [] });
  assert.deepEqual(out.cells[1], nb.cells[1]);
  assert.deepEqual(out.metadata, { language_info: info.languageInfo(), sequentia: { x: 1 }, kernelspec: info.KERNELSPEC });
});
