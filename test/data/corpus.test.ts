// lib/text: the novel corpus and text generation from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { initTf } from '../../lib/runtime/tf';
import { zooModel } from '../../lib/models/registry';
import { DEFAULT_CONFIG } from '../../lib/models/zoo/config';
import { RecurrentLM } from '../../lib/models/recurrent';
import { generate, generateText } from '../../lib/sample/generate';
import { loadMysteriousIsland, loadCorpus } from '../../lib/data/corpus';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { cleanup } from '../helpers/cleanup';

const { tmp: tmpDir } = cleanup('seq-');

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const config = { ...DEFAULT_CONFIG, vocabSize: 27, blockSize: 16 };

test('The Mysterious Island: 1,112,350 characters, 80 distinct; generation checks its input', async () => {
  await initTf();
  const c = loadMysteriousIsland();
  assert.equal(c.text.length, 1112350);
  assert.equal(c.vocab.size, 80);
  assert.ok(c.text.startsWith('THE MYSTERIOUS ISLAND'));
  const m = new RecurrentLM(
    { cell: 'lstm', vocabSize: 80, blockSize: 40, nEmbd: 8, nHidden: 16 },
    new TorchGenerator(1),
  );
  const out = generateText(m, c.vocab, 'The island', 20, new TorchGenerator(1), { temperature: 0.5 });
  assert.equal(out.length, 30);
  assert.equal(
    out,
    generateText(m, c.vocab, 'The island', 20, new TorchGenerator(1), { temperature: 0.5 }),
    'same seed, same text',
  );
  assert.throws(
    () => generateText(m, c.vocab, 'The ísland', 5, new TorchGenerator(1)),
    /'í' \(U\+00ED\) at position 4/,
  );
  assert.throws(
    () => generateText(m, c.vocab, 'The', 5, new TorchGenerator(1), { temperature: -1 }),
    /temperature must be a finite number ≥ 0 \(0: greedy\), got -1/,
  );
  const greedy = generateText(m, c.vocab, 'The', 5, new TorchGenerator(1), { temperature: 0 });
  assert.equal(greedy, generateText(m, c.vocab, 'The', 5, new TorchGenerator(2), { temperature: 0 }), 'no randomness');
  assert.throws(() => generateText(m, c.vocab, '', 5, new TorchGenerator(1)), /seed string is empty/);
  const tmp = path.join(tmpDir(), 'e.txt');
  fs.writeFileSync(tmp, '   \n');
  assert.throws(() => loadCorpus(tmp), /empty/);
  const rows = generate(zooModel('bigram', config, new TorchGenerator(1)), new TorchGenerator(1), {
    count: 3,
    maxLength: 5,
    batch: 3,
    stopAtBoundary: false,
  });
  assert.deepEqual(
    rows.map((r) => r.length),
    [5, 5, 5],
  );
  m.dispose();
});
