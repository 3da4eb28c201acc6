// What Sequentia's kernel says about its language (kernel_info_reply.language_info), and so what every
// committed notebook's metadata holds: classic Notebook copies the kernel's language_info (and the
// kernelspec's name, display_name and language) into the notebook when the kernel starts, and marks the
// notebook modified when they differ from the file's — test/notebooks/metadata.test.ts keeps them equal.
//
// tslab hard-codes version "3.7.2" (the TypeScript of its first release) whatever compiler it bundles and
// whichever Node runs it; we report the version of the compiler that really compiles the cells
// (@tslab/typescript-for-tslab, pinned through tslab's exact version), so the value is true and does not
// change between Node majors — only when tslab is upgraded (then `node scripts/notebooks/kernel-info.cjs
// --write` normalises the notebooks and the test says so until it is run).
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const tslabDir = path.dirname(require.resolve('tslab/package.json'));

/** The compiler tslab compiles cells with. */
function typescriptVersion() {
  const pkg = require.resolve('@tslab/typescript-for-tslab/package.json', { paths: [tslabDir] });
  return JSON.parse(fs.readFileSync(pkg, 'utf8')).version;
}

/** kernel_info_reply.language_info: tslab's own, keys in nbformat's (sorted) order, with the real version. */
function languageInfo() {
  return {
    // tslab's choice: CodeMirror's javascript mode with TypeScript on (classic Notebook) and mode
    // "typescript" (JupyterLab).
    codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true },
    file_extension: '.ts',
    mimetype: 'text/typescript',
    name: 'typescript',
    version: typescriptVersion(),
  };
}

/** metadata.kernelspec as classic Notebook writes it from the kernelspec (scripts/notebooks/kernel.mjs). */
const KERNELSPEC = { display_name: 'TypeScript (Sequentia)', language: 'typescript', name: 'sequentia-ts' };

/** The committed notebooks: notebooks/*.ipynb and notebooks/solutions/*.ipynb. */
function committedNotebooks() {
  return ['notebooks', path.join('notebooks', 'solutions')].flatMap((dir) =>
    fs
      .readdirSync(path.join(ROOT, dir))
      .filter((f) => f.endsWith('.ipynb'))
      .sort()
      .map((f) => path.join(dir, f)),
  );
}

/**
 * The notebook as it should be committed: metadata.kernelspec and .language_info as the kernel reports
 * them (other metadata kept in place), no outputs, no execution counts. Same JSON layout as the files.
 */
function normalised(text) {
  const nb = JSON.parse(text);
  nb.metadata = { ...nb.metadata, kernelspec: KERNELSPEC, language_info: languageInfo() };
  for (const cell of nb.cells)
    if (cell.cell_type === 'code') {
      cell.outputs = [];
      cell.execution_count = null;
    }
  return JSON.stringify(nb, null, 1) + '\n';
}

module.exports = { languageInfo, KERNELSPEC, committedNotebooks, normalised, ROOT };

if (require.main === module) {
  if (process.argv[2] !== '--write') {
    console.error('usage: node scripts/notebooks/kernel-info.cjs --write   (normalise the committed notebooks)');
    process.exit(2);
  }
  for (const rel of committedNotebooks()) {
    const file = path.join(ROOT, rel);
    const before = fs.readFileSync(file, 'utf8');
    const after = normalised(before);
    if (after !== before) {
      fs.writeFileSync(file, after);
      console.log(`normalised ${rel}`);
    }
  }
}
