/**
 * The shape of the source tree: no file in lib/ or scripts/ grows past 600 lines, and no module of
 * lib/ or scripts/ imports itself through others. Imports are read with the TypeScript compiler's
 * preprocessor (type-only imports, `export … from`, require() and import() included); relative
 * specifiers are resolved to files, packages are outside the graph.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..');
const SOURCE = /\.(?:ts|mts|cts|mjs|cjs)$/;
const MAX_LINES = 600;
/** Written by scripts/native/build.sh from lib/backend/native/*.c, not by hand. */
const GENERATED = new Set(['lib/backend/native/kernels-wasm.ts']);

/** Every source file under dir, relative to the root, sorted. */
function sources(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { withFileTypes: true })
    .flatMap((e) => {
      const rel = path.posix.join(dir, e.name);
      if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(rel);
      return SOURCE.test(e.name) ? [rel] : [];
    })
    .sort();
}

const FILES = [...sources('lib'), ...sources('scripts')];

test(`no source file in lib/ or scripts/ is over ${MAX_LINES} lines (generated files aside)`, () => {
  const long = FILES.filter((f) => !GENERATED.has(f))
    .map((f) => ({ f, n: fs.readFileSync(path.join(ROOT, f), 'utf8').split('\n').length - 1 }))
    .filter(({ n }) => n > MAX_LINES);
  const named = long.map(({ f, n }) => `${f}: ${n} lines`);
  assert.deepEqual(named, [], `split these by job:\n${named.join('\n')}`);
  for (const f of GENERATED) assert.ok(fs.existsSync(path.join(ROOT, f)), `${f} (GENERATED) exists`);
});

/** The file a relative specifier names: as written, with a source extension, or a folder's index. */
function resolve(from: string, spec: string): string | null {
  const base = path.posix.join(path.posix.dirname(from), spec);
  const stem = base.replace(/\.(?:js|mjs|cjs)$/, '');
  const candidates = [
    base,
    ...['.ts', '.mts', '.cts', '.mjs', '.cjs'].flatMap((e) => [base + e, stem + e]),
    ...['.ts', '.mts', '.mjs'].map((e) => `${base}/index${e}`),
  ];
  return (
    candidates.find(
      (c) => SOURCE.test(c) && fs.existsSync(path.join(ROOT, c)) && fs.statSync(path.join(ROOT, c)).isFile(),
    ) ?? null
  );
}

/** The files of lib/ and scripts/ that a file imports. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(fs.readFileSync(path.join(ROOT, file), 'utf8'), true, true);
  const out = new Set<string>();
  for (const { fileName } of info.importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const hit = resolve(file, fileName);
    assert.ok(hit, `${file}: import '${fileName}' resolves to no file`);
    if (hit.startsWith('lib/') || hit.startsWith('scripts/')) out.add(hit);
  }
  return [...out].sort();
}

/**
 * Every elementary cycle of the graph, each as its files from the smallest name round to it again:
 * a search from each file s through files after s only, so each cycle is found once.
 */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const names = [...graph.keys()].sort();
  for (const s of names) {
    const stack = [s];
    const on = new Set([s]);
    const walk = (v: string): void => {
      for (const w of graph.get(v) ?? []) {
        if (w === s) found.push([...stack, s]);
        else if (w > s && !on.has(w)) {
          stack.push(w);
          on.add(w);
          walk(w);
          on.delete(w);
          stack.pop();
        }
      }
    };
    walk(s);
  }
  return found;
}

test('no import cycle among the modules of lib/ and scripts/', () => {
  const graph = new Map(FILES.map((f) => [f, importsOf(f)]));
  const found = cycles(graph).map((c) => c.join(' → '));
  assert.deepEqual(
    found,
    [],
    `import cycles (move what both sides need into a module both import):\n${found.join('\n')}`,
  );
});
