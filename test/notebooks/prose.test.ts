/**
 * The numbers the notebooks' prose quotes from a run, held to the reference outputs those runs are checked
 * against (notebooks/references/<notebook>.<set>.json, which `--check` compares with every executed copy).
 * When a re-run moves a number (`--update-references`), the sentence quoting it fails here until it is
 * rewritten. Numbers the prose gives as the lecture's, as parameters or as arithmetic are not run outputs
 * and are not listed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { extractNumbers } from '../../scripts/notebooks/references';

const ROOT = path.resolve(__dirname, '..', '..');

interface Quote {
  /** notebook (file name without .ipynb) and the id of the cell whose text quotes the number */
  nb: string;
  cell: string;
  /** the quote as written, holding exactly one number */
  quoted: string;
  /** where a cell prints it: notebook (default: the quoting one), cell id, position among its printed numbers */
  from: { nb?: string; cell: string; at: number };
  /** the parameter sets at which the prose claims it (a number only the full run prints says so in its sentence) */
  sets: ('quick' | 'full')[];
}

const BOTH: Quote['sets'] = ['quick', 'full'];
const FULL: Quote['sets'] = ['full'];

const QUOTES: Quote[] = [
  { nb: '01-bigram-counts', cell: 'c006', quoted: 'there are 228,146 bigrams', from: { cell: 'c007', at: 1 }, sets: BOTH },
  { nb: '01-bigram-counts', cell: 'c014', quoted: 'so 228,146 over the whole file', from: { cell: 'c007', at: 1 }, sets: BOTH },
  { nb: '02-count-tensor', cell: 'c009', quoted: 'all 32,033 names', from: { nb: '01-bigram-counts', cell: 'c003', at: 0 }, sets: BOTH },
  { nb: '03-likelihood', cell: 'c004', quoted: 'it prints `2.4544`', from: { cell: 'c005', at: 3 }, sets: BOTH },
  { nb: '03-likelihood', cell: 'c004', quoted: 'the same quantity is `2.45458`', from: { cell: 'c005', at: 2 }, sets: BOTH },
  { nb: '03-likelihood', cell: 'c015', quoted: 'scores about 2.45 on dev', from: { cell: 'c014', at: 2 }, sets: BOTH },
  { nb: '04-bigram-net', cell: 'c008', quoted: 'the average below is 3.77', from: { cell: 'c009', at: 15 }, sets: BOTH },
  { nb: '04-bigram-net', cell: 'c010', quoted: "the lecture's `3.7693049907684326`", from: { cell: 'c009', at: 15 }, sets: BOTH },
  { nb: '04-bigram-net', cell: 'c012', quoted: 'all 228,146 bigrams', from: { cell: 'c013', at: 3 }, sets: BOTH },
  { nb: '05-mlp', cell: 'c002', quoted: "lecture's 25,626", from: { cell: 'c001', at: 0 }, sets: BOTH },
  { nb: '05-mlp', cell: 'c002', quoted: '/ 3,203 /', from: { cell: 'c001', at: 1 }, sets: BOTH },
  { nb: '05-mlp', cell: 'c002', quoted: '3,204 names', from: { cell: 'c001', at: 2 }, sets: BOTH },
  { nb: '05-mlp', cell: 'c004', quoted: '11,897 parameters', from: { cell: 'c005', at: 0 }, sets: BOTH },
  { nb: '05-mlp', cell: 'c010', quoted: 'the bigram model was at 2.45', from: { nb: '03-likelihood', cell: 'c014', at: 2 }, sets: BOTH },
  { nb: '06-mlp-done-right', cell: 'c002', quoted: '= 3.2958', from: { cell: 'c003', at: 0 }, sets: BOTH },
  { nb: '06-mlp-done-right', cell: 'c002', quoted: '(26.2383 on', from: { cell: 'c003', at: 1 }, sets: BOTH },
  { nb: '06-mlp-done-right', cell: 'c006', quoted: '= 0.3043', from: { cell: 'c007', at: 0 }, sets: BOTH },
  { nb: '07-recurrent-names', cell: 'c002', quoted: '`blockSize` = 16', from: { cell: 'c001', at: 0 }, sets: BOTH },
  { nb: '07-recurrent-names', cell: 'c006', quoted: 'dev 2.1662', from: { nb: '05-mlp', cell: 'c011', at: 2 }, sets: FULL },
  // the MLP line of 07's figure is drawn at 05's full-run dev loss (a constant in the code cell)
  { nb: '07-recurrent-names', cell: 'c007', quoted: 'y: [2.1662,', from: { nb: '05-mlp', cell: 'c011', at: 2 }, sets: FULL },
  { nb: '07-recurrent-names', cell: 'c006', quoted: '182,625 training windows', from: { nb: '05-mlp', cell: 'c003', at: 0 }, sets: BOTH },
  { nb: '07-recurrent-names', cell: 'c020', quoted: 'names: 28,315', from: { cell: 'c005', at: 12 }, sets: BOTH },
  { nb: '08-mysterious-island', cell: 'c002', quoted: 'leaving 1,112,350 characters', from: { cell: 'c001', at: 0 }, sets: BOTH },
  { nb: '08-mysterious-island', cell: 'c002', quoted: 'from 80 distinct', from: { cell: 'c001', at: 1 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'c000', quoted: ': 76,579 parameters', from: { cell: 'c003', at: 46 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'c005', quoted: 'are 1.951 and', from: { cell: 'c011', at: 23 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'c005', quoted: 'and 1.957 for PyTorch', from: { cell: 'c011', at: 16 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'c005', quoted: 'and 1.966 and', from: { cell: 'c011', at: 9 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'c005', quoted: 'and 1.976 for', from: { cell: 'c011', at: 2 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'c005', quoted: 'between steps 9,000', from: { cell: 'c011', at: 3 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'c005', quoted: 'and 14,000;', from: { cell: 'c011', at: 10 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'c005', quoted: 'with 204,544 parameters', from: { cell: 'c003', at: 43 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'c005', quoted: 'and 31,033 training names', from: { cell: 'c001', at: 0 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'june-md', quoted: 'best 1.9381', from: { cell: 'june-plot', at: 21 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'june-md', quoted: 'at step 75,000', from: { cell: 'june-plot', at: 22 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'june-md', quoted: 'of 80,000)', from: { cell: 'june-plot', at: 24 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'june-md', quoted: '**Sequentia 1.9123**', from: { cell: 'june-plot', at: 9 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'june-md', quoted: 'at step 60,000', from: { cell: 'june-plot', at: 10 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'june-md', quoted: '(train 1.7670)', from: { cell: 'june-plot', at: 11 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'june-md', quoted: 'PyTorch 1.9199', from: { cell: 'june-plot', at: 16 }, sets: BOTH },
  { nb: '09-model-zoo', cell: 'june-md', quoted: '(train 1.7935)', from: { cell: 'june-plot', at: 18 }, sets: BOTH },
  { nb: '11-wavenet', cell: 'c008', quoted: '22,097 parameters', from: { cell: 'c009', at: 5 }, sets: BOTH },
  { nb: '11-wavenet', cell: 'c010', quoted: '(22,397)', from: { cell: 'c013', at: 17 }, sets: BOTH },
  { nb: '11-wavenet', cell: 'c018', quoted: '= 3.2958`', from: { cell: 'c019', at: 5 }, sets: BOTH },
  { nb: '12-gpt', cell: 'c057e', quoted: 'on validation, 1.5420', from: { cell: 'c045', at: 16 }, sets: FULL },
  { nb: '12-gpt', cell: 'c057e', quoted: "model's 1.7004", from: { cell: 'c057c', at: 6 }, sets: FULL },
];

const cellText = (nb: string, id: string): string => {
  const json = JSON.parse(fs.readFileSync(path.join(ROOT, 'notebooks', `${nb}.ipynb`), 'utf8')) as {
    cells: { id?: string; source: string | string[] }[];
  };
  const cell = json.cells.find((c) => c.id === id);
  assert.ok(cell, `notebooks/${nb}.ipynb has no cell ${id}`);
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
};

const printed = (nb: string, set: string, id: string, at: number): string => {
  const file = path.join(ROOT, 'notebooks', 'references', `${nb}.${set}.json`);
  const ref = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: Record<string, { numbers: string[] }> };
  const n = ref.cells[id]?.numbers[at];
  assert.ok(n !== undefined, `${path.relative(ROOT, file)}: cell ${id} has no number ${at}`);
  return n;
};

/** Does the quote, rounded as written, say the printed number? (A printed half may round either way.) */
function agrees(quoted: string, value: string): boolean {
  const q = Number(quoted.replace(/,/g, ''));
  const v = Number(value.replace(/,/g, ''));
  const decimals = quoted.includes('.') ? quoted.length - quoted.indexOf('.') - 1 : 0;
  return Math.abs(q - v) <= 0.5 * 10 ** -decimals * (1 + 1e-9);
}

test('agrees: a quote is the printed number rounded to the digits it shows', () => {
  assert.equal(agrees('228,146', '228146'), true);
  assert.equal(agrees('2.45', '2.4530'), true);
  assert.equal(agrees('1.957', '1.9565'), true, 'a printed half rounds either way');
  assert.equal(agrees('1.956', '1.9565'), true);
  assert.equal(agrees('2.17', '2.1662'), true, 'rounded to two decimals');
  assert.equal(agrees('2.1701', '2.1662'), false, "the lecture's 2.1701 is not notebook 05's 2.1662");
  assert.equal(agrees('3.7693049907684326', '3.7693049907684326'), true);
  assert.equal(agrees('64', '32'), false);
});

test('every number the prose quotes from a run is the number a checked cell prints, at the settings the prose claims', () => {
  const wrong: string[] = [];
  for (const q of QUOTES) {
    const text = cellText(q.nb, q.cell);
    const where = `notebooks/${q.nb}.ipynb, cell ${q.cell}: "${q.quoted}"`;
    if (!text.includes(q.quoted)) {
      wrong.push(`${where} is no longer in the cell (rewrite this test's entry with the sentence)`);
      continue;
    }
    const tokens = extractNumbers(q.quoted).map((n) => n.token);
    assert.equal(tokens.length, 1, `${where}: a quote must hold exactly one number, holds ${tokens.join(', ')}`);
    for (const set of q.sets) {
      const value = printed(q.from.nb ?? q.nb, set, q.from.cell, q.from.at);
      if (!agrees(tokens[0]!, value))
        wrong.push(`${where}: the ${set} run of ${q.from.nb ?? q.nb} prints ${value} (cell ${q.from.cell}, number ${q.from.at})`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('the road map of notebook 01 names every notebook', () => {
  const roadMap = cellText('01-bigram-counts', 'c000');
  const numbers = fs
    .readdirSync(path.join(ROOT, 'notebooks'))
    .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
    .map((f) => Number(f.slice(0, 2)));
  for (const n of numbers) assert.match(roadMap, new RegExp(`(^|[\\s–])${n}[.–]`), `notebook ${n} is missing from 01's road map`);
});
