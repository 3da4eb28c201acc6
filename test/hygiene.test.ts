/**
 * Dead code does not come back: every function, class or constant lib/ or scripts/ exports is used in
 * another file (lib, scripts, tests or notebooks); tsc's noUnusedLocals covers what is not exported.
 * Exported types are exempt: they name the public API's shapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

function files(dir: string, ext: RegExp): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' || e.name === 'node_modules' ? [] : files(rel, ext);
    return ext.test(e.name) ? [rel] : [];
  });
}

test('every export of lib/ and scripts/ is used by another file', () => {
  const sources = [...files('lib', /\.ts$/), ...files('scripts', /\.ts$/)];
  const readers = [...sources, ...files('test', /\.ts$/), ...files('notebooks', /\.ipynb$/)];
  const text = new Map(readers.map((f) => [f, fs.readFileSync(path.join(ROOT, f), 'utf8')]));
  const unused: string[] = [];
  for (const file of sources) {
    const src = text.get(file) as string;
    const names = [
      ...src.matchAll(/^export (?:async )?(?:function\*?|class|const|let|enum|abstract class) +([A-Za-z_$][\w$]*)/gm),
    ].map((m) => m[1] as string);
    for (const name of names) {
      const word = new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`);
      const usedElsewhere = [...text].some(([other, t]) => other !== file && word.test(t));
      if (!usedElsewhere) unused.push(`${file}: ${name}`);
    }
  }
  assert.deepEqual(
    unused,
    [],
    `exported but used nowhere else (delete them, or stop exporting):\n${unused.join('\n')}`,
  );
});

/** Relative imports of a TypeScript source or of a notebook's code cells (resolved to files). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const code = file.endsWith('.ipynb')
    ? (JSON.parse(text) as { cells: { cell_type: string; source: string[] }[] }).cells
        .filter((c) => c.cell_type === 'code')
        .map((c) => c.source.join(''))
        .join('\n')
    : text;
  const from = file.endsWith('.ipynb') ? ROOT : path.dirname(path.join(ROOT, file));
  return [...code.matchAll(/^(?:import|export)\s(?:[^;]*?from\s+)?'([^']+)'/gm)].map((m) => {
    const spec = m[1] as string;
    if (!spec.startsWith('.')) return spec;
    const base = path.resolve(from, spec);
    const hit = [base, `${base}.ts`].find((p) => fs.existsSync(p) && fs.statSync(p).isFile());
    return path.relative(ROOT, hit ?? base);
  });
}

test('the counting notebooks (01, 03) load no TensorFlow.js: no barrel pulls it in', () => {
  for (const nb of ['notebooks/01-bigram-counts.ipynb', 'notebooks/03-likelihood.ipynb']) {
    const seen = new Set<string>();
    const todo = importsOf(nb);
    while (todo.length) {
      const f = todo.pop() as string;
      if (seen.has(f)) continue;
      seen.add(f);
      if (f.startsWith('lib/')) todo.push(...importsOf(f));
    }
    const tfjs = [...seen].filter((f) => f.startsWith('@tensorflow') || f === 'lib/runtime/tf.ts');
    assert.deepEqual(tfjs, [], `${nb} reaches TensorFlow.js through ${[...seen].join(', ')}`);
    assert.ok(
      [...seen].some((f) => f.startsWith('lib/counting/')),
      `${nb}: its imports were followed`,
    );
  }
});
