// The model zoo: makemore's parameter counts, shapes, initial loss, padding and causality.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { zooModel, ZOO_TYPES } from '../../lib/models/registry';
import { DEFAULT_CONFIG } from '../../lib/models/zoo/config';
import { buildSequences } from '../../lib/data/sequences';
import { Vocab } from '../../lib/data/vocab';
import { TorchGenerator } from '../../lib/random/torch-generator';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const config = { ...DEFAULT_CONFIG, vocabSize: 27, blockSize: 16 };

test('the zoo at makemore defaults has makemore’s parameter counts', async () => {
  await initTf();
  const want: Record<string, number> = {
    bigram: 729,
    mlp: 69147,
    rnn: 11803,
    gru: 28315,
    bow: 12827,
    transformer: 204544,
    lstm: 36571,
  };
  for (const type of ZOO_TYPES) {
    const m = zooModel(type, config, new TorchGenerator(1));
    assert.equal(m.numParams(), want[type], type);
    m.dispose();
  }
  assert.throws(() => zooModel('cnn', config, new TorchGenerator(1)), /unknown model type 'cnn'/);
});

test('every model: logits [B, T, V], ln 27-ish loss at init, padding ignored, causal (no peeking ahead)', async () => {
  await initTf();
  const seq = buildSequences(['emma', 'olivia'], Vocab.fromWords(['abcdefghijklmnopqrstuvwxyz']), 16);
  for (const type of ZOO_TYPES) {
    const m = zooModel(type, config, new TorchGenerator(3));
    tf.tidy(() => {
      const X = tf.tensor2d(seq.X, [2, 16], 'int32');
      const Y = tf.tensor2d(seq.Y, [2, 16], 'int32');
      const { logits, loss } = m.forward(X, Y);
      assert.deepEqual(logits.shape, [2, 16, 27], type);
      assert.ok(Number.isFinite(loss!.dataSync()[0]!), type);
      // changing a later token must not change earlier logits
      const X2 = X.arraySync() as number[][];
      X2[0]![10] = 7;
      const l2 = m.forward(tf.tensor2d(X2, [2, 16], 'int32')).logits;
      const a = logits.slice([0, 0, 0], [1, 10, 27]).dataSync();
      const b = l2.slice([0, 0, 0], [1, 10, 27]).dataSync();
      assert.ok(
        a.every((v, i) => Math.abs(v - b[i]!) < 1e-5),
        `${type} looks ahead`,
      );
    });
    m.dispose();
  }
});
