/**
 * Amendments to tslab's converter (dist/converter.js), applied to its source as the kernel loads it: the
 * file in node_modules is untouched. Each is the text it expects, what it puts there, and what is lost if
 * a new tslab lacks that text: the kernel says so at start (test/notebooks/kernel.test.ts fails) instead
 * of silently running without it.
 */
'use strict';
// Without its worker thread, esbuild runs each transform in a short-lived process of its own. With it,
// one long-lived esbuild process serves them all, and ■ (SIGINT to the kernel's process group) kills that
// process: every import after an interrupt failed with "The service is no longer running". The variable
// is read once, as esbuild loads; cells' child processes (a CLI through tsx) do not inherit it.
const workerThreads = process.env.ESBUILD_WORKER_THREADS;
process.env.ESBUILD_WORKER_THREADS = '0';
const esbuild = require('esbuild');
const path = require('node:path');
if (workerThreads === undefined) delete process.env.ESBUILD_WORKER_THREADS;
else process.env.ESBUILD_WORKER_THREADS = workerThreads;

// tslab rewrites a name declared in an earlier cell to `exports.name`, but looks up the symbol of a
// shorthand property's *property*, not of the variable it reads: `({ q })` stays `{ q }` and throws
// "q is not defined" where `({ q: q })` works: a shorthand property that reads an earlier cell's variable
// becomes `q: exports.q`.
const SHORTHAND_AT = 'function wrapPrevIdentifier(node) {\n            var _a, _b;\n';
const SHORTHAND_FIX = `
            if (ts.isShorthandPropertyAssignment(node) && !node.objectAssignmentInitializer) {
                const value = checker.getShorthandAssignmentValueSymbol(node);
                if (value && (value.declarations || []).some((d) => d.getSourceFile() === declsFile))
                    return ts.factory.createPropertyAssignment(node.name.text, ts.factory.createPropertyAccessExpression(ts.factory.createIdentifier("exports"), node.name.text));
                return node;
            }
`;
// tslab type-checks and emits every local file a cell imports with TypeScript's checker: the import cell
// of notebook 09 spent 8 of its 10 s checking lib/, which `npm test` checks with the project's stricter
// tsconfig anyway. The cell itself is still checked, against lib's declarations, and lib's files for
// syntax errors (reported as tslab reports the cell's, file and line); they are transpiled by esbuild,
// as tsx runs them for the CLIs and tests (and `import()` becomes `require`, as TypeScript's emit did,
// so lib's dynamic imports resolve like its static ones).
const DEPS_CHECKED_AT = 'const diag = convertDiagnostics(getPreEmitDiagnosticsWithDependencies(builder, srcFile));';
const DEPS_CHECKED_FIX = `const diag = convertDiagnostics(ts.getPreEmitDiagnosticsOfFiles(builder.getProgram(), [srcFile]).concat(
            getAllSrcDependencies(builder, srcFile).filter((dep) => dep !== srcFilename)
                .flatMap((dep) => builder.getProgram().getSyntacticDiagnostics(builder.getSourceFile(dep)))));`;
const DEPS_EMITTED_AT = '            builder.emit(builder.getSourceFile(dep), (fileName, data) => {\n';
// The first local file of a cell's imports transpiles all of them not yet loaded, in one esbuild
// process (with no worker thread, each esbuild call is a process of its own: one per file cost an
// import cell of 50 files 1.2 s); the others are then marked as done by tslab's loop and skipped. If
// esbuild fails (an error only it catches, such as a name declared twice, or ■ killing it), the cell
// fails with the error as tslab shows a type error, and the files stay unconverted for the next run:
// left marked, every later import of them failed with "Cannot find module" until a restart.
const DEPS_EMITTED_FIX = `            if (dep !== srcFilename) {
                if (!sideOutputs) {
                    const files = getAllSrcDependencies(builder, srcFile)
                        .filter((d) => d !== srcFilename && (d === dep || !sideInputsConverted.has(d)));
                    const done = globalThis.__sequentiaTranspile(files, cwd);
                    if (done.diagnostics) {
                        for (const f of files) sideInputsConverted.delete(f);
                        return { diagnostics: done.diagnostics };
                    }
                    sideOutputs = done.outputs;
                }
                continue;
            }
`;
/** A tslab diagnostic (printed as `file line:col - message`) for one of esbuild's messages, or any failure. */
function diagnostic(fileName, line, character, messageText) {
  return { fileName, start: { line, character }, end: { line, character }, messageText, category: 1, code: 0 };
}

/** Local files a cell imports, as CommonJS from one esbuild run (tslab's side outputs), or why not. */
function transpileLocal(files, cwd) {
  const out = '/sequentia-transpiled';
  let outputFiles;
  try {
    ({ outputFiles } = esbuild.buildSync({
      entryPoints: files,
      outdir: out,
      outbase: '/',
      write: false,
      format: 'cjs',
      platform: 'node',
      target: 'es2022',
      tsconfigRaw: {},
      supported: { 'dynamic-import': false },
      logLevel: 'silent',
    }));
  } catch (e) {
    const errors = Array.isArray(e?.errors) ? e.errors : [];
    if (errors.length)
      return {
        diagnostics: errors.map((m) =>
          m.location
            ? diagnostic(path.relative(cwd, path.resolve(cwd, m.location.file)), m.location.line - 1, m.location.column, m.text)
            : diagnostic(undefined, 0, 0, m.text),
        ),
      };
    const why = e?.signal ? `esbuild was stopped (${e.signal})` : String(e?.message ?? e).split('\n')[0];
    const what = `transpiling the ${files.length} file(s) this cell imports failed: ${why}; run the cell again`;
    return { diagnostics: [diagnostic(path.relative(cwd, files[0]), 0, 0, what)] };
  }
  const byPath = new Map(outputFiles.map((f) => [f.path, f.text]));
  const outputs = files.map((file) => ({
    path: file.replace(/\.ts$/, '.js'),
    data: byPath.get(path.join(out, file).replace(/\.[cm]?ts$|\.[cm]?js$/, '.js')),
  }));
  // like a failed run: a file left marked as loaded without its output could never be imported again
  const missing = outputs.find((o) => o.data === undefined);
  if (missing) return { diagnostics: [diagnostic(path.relative(cwd, missing.path), 0, 0, 'esbuild gave no output for this file')] };
  return { outputs };
}
globalThis.__sequentiaTranspile = transpileLocal;

const AMENDMENTS = [
  { at: SHORTHAND_AT, text: SHORTHAND_AT + SHORTHAND_FIX, lost: '({ name }) of an earlier cell is not fixed' },
  { at: DEPS_CHECKED_AT, text: DEPS_CHECKED_FIX, lost: "a cell type-checks lib's files too (slower)" },
  { at: DEPS_EMITTED_AT, text: DEPS_EMITTED_FIX + DEPS_EMITTED_AT, lost: "lib's files are compiled by TypeScript (slower)" },
];

/** The converter's source with every amendment whose text is found; `lost` says what the others were for. */
function amendConverter(source) {
  let text = source;
  const lost = [];
  for (const a of AMENDMENTS) {
    if (text.includes(a.at)) text = text.replace(a.at, a.text);
    else lost.push(a.lost);
  }
  return { text, lost };
}

module.exports = { amendConverter };
