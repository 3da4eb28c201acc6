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
