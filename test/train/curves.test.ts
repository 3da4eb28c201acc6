// lib/train/curves: reference runs and loss logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCurves, readLossLog, bestPoint } from '../../lib/train/curves';
import fs from 'node:fs';
import path from 'node:path';
import { cleanup } from '../helpers/cleanup';

const { tmp: tmpDir } = cleanup('sequentia-log-');

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('loss curves: the best point of each stored reference run; bad logs are named', () => {
  const curves = readCurves('docs/reference/transformer-names.json');
  assert.equal(curves.length, 4);
  const torch = bestPoint(curves.find((c) => c.label === 'PyTorch 1.13, seed 3407')!);
  assert.deepEqual([torch.step, torch.test, torch.lastStep], [11000, 1.9565, 20000]);
  const dir = tmpDir();
  const bad = path.join(dir, 'log.jsonl');
  fs.writeFileSync(bad, '{"step":1,"train_loss":2,"test_loss":3}\n{"step":2}\n');
  assert.throws(() => readLossLog(bad), /log\.jsonl:2: expected step, train_loss and test_loss/);
  assert.throws(() => readLossLog(path.join(dir, 'missing.jsonl')), /loss log not found/);
});
