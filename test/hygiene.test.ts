/**
 * Dead code does not come back: every function, class, enum or constant lib/ or scripts/ exports is
 * used in another file of the project's own code — lib/, scripts/ or a notebook's code cells. A use
 * in a test, a comment or a string does not count (a test of dead code keeps nothing alive), nor does
 * an import or re-export alone. Files are read with the TypeScript parser, so only identifiers in code
 * are uses. tsc's noUnusedLocals covers what is not exported; exported types are exempt: they name
 * the public API's shapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..');

function files(dir: string, ext: RegExp): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' || e.name === 'node_modules' ? [] : files(rel, ext);
    return ext.test(e.name) ? [rel] : [];
  });
}

/** A notebook's code cells, one source each. */
function codeCells(file: string): string[] {
  const nb = JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as {
    cells: { cell_type: string; source: string | string[] }[];
  };
  return nb.cells
    .filter((c) => c.cell_type === 'code')
    .map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source));
}

/** The parsed code of a source file, or of each code cell of a notebook. */
function parse(file: string): ts.SourceFile[] {
  const texts = file.endsWith('.ipynb') ? codeCells(file) : [fs.readFileSync(path.join(ROOT, file), 'utf8')];
  const kind = /\.[mc]?js$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  return texts.map((t, i) => ts.createSourceFile(`${file}#${i}`, t, ts.ScriptTarget.Latest, false, kind));
}

/**
 * The names code uses: every identifier outside import and export declarations (comments and strings
 * are not identifiers; an identifier inside a template's `${…}` is code and counts).
 */
function namesUsed(sources: ts.SourceFile[]): Set<string> {
  const used = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node) || ts.isImportEqualsDeclaration(node)) return;
    if (ts.isIdentifier(node)) used.add(node.text);
    ts.forEachChild(node, visit);
  };
  for (const sf of sources) visit(sf);
  return used;
}

const exported = (node: ts.Node): boolean =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

/** The values a module exports by name: exported functions, classes, enums and variables, and `export { local }`. */
function exportedValues(sf: ts.SourceFile): string[] {
  const names: string[] = [];
  for (const s of sf.statements) {
    if ((ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s) || ts.isEnumDeclaration(s)) && exported(s)) {
      if (s.name) names.push(s.name.text);
    } else if (ts.isVariableStatement(s) && exported(s)) {
      for (const d of s.declarationList.declarations) if (ts.isIdentifier(d.name)) names.push(d.name.text);
    } else if (ts.isExportDeclaration(s) && !s.moduleSpecifier && !s.isTypeOnly && s.exportClause) {
      if (ts.isNamedExports(s.exportClause))
        for (const e of s.exportClause.elements) if (!e.isTypeOnly) names.push(e.name.text);
    }
  }
  return names;
}

/**
 * Exports no other source file uses, kept on purpose: a test reaches the piece directly (a reference
 * implementation, a tolerance, a helper of a bigger function) or a notebook shows its source by name
 * (notebook 10's `showSource(LIB, 'name')`). The test fails when an entry is no longer exported, or is
 * used by other source after all, or is mentioned by no test or notebook (then it is dead: delete it).
 */
const SEAMS: Record<string, string[]> = {
  'lib/backend/native/loader.ts': ['productRounding'],
  'lib/backend/native/threads.ts': ['workerJobs', 'workerStartMs'],
  'lib/backend/patch-wasm.ts': ['isPatchedKernel'],
  'lib/counting/bigrams.ts': ['tableStepper'],
  'lib/data/read-checked.ts': ['firstInvalidUtf8'],
  'lib/exercises/initialisation.ts': ['INITIAL_LOSS_TOLERANCE'],
  'lib/exercises/likelihood.ts': ['SMOOTHING_TOLERANCE'],
  'lib/exercises/wavenet.ts': ['QUICK_DEV_LOSS'],
  'lib/models/lecture/backprop.ts': [
    'INTERMEDIATES',
    'embeddingForward',
    'linearForward',
    'batchNormForward',
    'tanhForward',
    'tanhBackward',
    'crossEntropyForward',
    'crossEntropyBackward',
    'manualGradients',
  ],
  'lib/models/registry.ts': ['MODEL_TYPES'],
  'lib/ops/gelu.ts': ['geluReference'],
  'lib/ops/layer-norm.ts': ['layerNormReference'],
  'lib/nn/recurrent.ts': ['cellSequence'],
  'lib/runtime/interrupt.ts': ['requestInterrupt', 'clearInterrupt'],
  'lib/sample/generate.ts': ['generateStream', 'generate'],
  'lib/train/run-dir.ts': ['MARKER', 'LockError', 'clearRun', 'markRun', 'acquireLock'],
  'lib/train/saved-model.ts': ['SAVED_MODEL_VERSION'],
  'lib/viz/export.ts': ['CHROMIUM_ARGS'],
  'lib/viz/plots.ts': ['figureBundle', 'BLUES', 'colorAt', 'contrastRatio', 'DARK_TEXT', 'LIGHT_TEXT'],
  'lib/viz/projection.ts': ['principalComponents'],
  'scripts/cli/makemore/args.ts': ['MAKEMORE_SETTINGS_SPEC'],
  'scripts/cli/run/options.ts': ['readConfigFile', 'shownDefault'],
  'scripts/cli/writeup/render.ts': ['markdownToHtml'],
  'scripts/notebooks/parameters.ts': ['parseLiteral', 'findParameters', 'parseAssignment', 'injectedSource'],
  'scripts/notebooks/references.ts': ['outputText', 'extractNumbers'],
  'scripts/notebooks/report.ts': ['xmlText', 'junitXml'],
};

test('every export of lib/ and scripts/ is used by another file of lib/, scripts/ or the notebooks', () => {
  const sources = [...files('lib', /\.ts$/), ...files('scripts', /\.ts$/)];
  const readers = [
    ...files('lib', /\.[mc]?[tj]s$/),
    ...files('scripts', /\.[mc]?[tj]s$/),
    ...files('notebooks', /\.ipynb$/),
  ];
  const parsed = new Map(readers.map((f) => [f, parse(f)]));
  const uses = new Map([...parsed].map(([f, sfs]) => [f, namesUsed(sfs)]));
  const unused: string[] = [];
  const exports = new Map<string, string[]>();
  for (const file of sources) {
    exports.set(file, exportedValues(parsed.get(file)![0]!));
    for (const name of exports.get(file)!) {
      const usedElsewhere = [...uses].some(([other, names]) => other !== file && names.has(name));
      if (!usedElsewhere) unused.push(`${file}: ${name}`);
    }
  }
  const seams = Object.entries(SEAMS).flatMap(([file, names]) => names.map((n) => `${file}: ${n}`));
  const fresh = unused.filter((u) => !seams.includes(u));
  assert.deepEqual(
    fresh,
    [],
    `exported but used by no other file of lib/, scripts/ or the notebooks (delete them, or stop exporting):\n${fresh.join('\n')}`,
  );
  const stale = seams.filter((s) => !unused.includes(s));
  assert.deepEqual(stale, [], 'in SEAMS but no longer exported, or used by other source now: remove from SEAMS');
  const mentions = [...files('test', /\.ts$/), ...files('notebooks', /\.ipynb$/)].map((f) =>
    fs.readFileSync(path.join(ROOT, f), 'utf8'),
  );
  const dead = seams.filter((s) => {
    const word = new RegExp(`\\b${s.split(': ')[1]!.replace(/\$/g, '\\$')}\\b`);
    return !mentions.some((t) => word.test(t));
  });
  assert.deepEqual(dead, [], 'in SEAMS but no test or notebook names them: dead code, delete it');
});

/** Relative imports of a TypeScript source or of a notebook's code cells (resolved to files). */
function importsOf(file: string): string[] {
  const code = file.endsWith('.ipynb') ? codeCells(file).join('\n') : fs.readFileSync(path.join(ROOT, file), 'utf8');
  const from = file.endsWith('.ipynb') ? ROOT : path.dirname(path.join(ROOT, file));
  return ts.preProcessFile(code, true, true).importedFiles.map(({ fileName: spec }) => {
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
