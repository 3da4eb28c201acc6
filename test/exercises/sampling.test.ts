// lib/exercises/sampling: the scale-factor/top-k, inverse-CDF and nucleus checks accept correct answers,
// name the usual slips, report stubs as unanswered and make no tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf } from '../../lib/runtime/tf';
import { run } from '../helpers/checks';
import { checkScaledProbs, checkSampleIndex, checkNucleusProbs } from '../../lib/exercises/sampling';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

function softmax(l: number[]): number[] {
  const m = Math.max(...l);
  const e = l.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function scaled(o: { divide?: boolean; renormalise?: boolean; extra?: number } = {}) {
  return (logits: number[], scale: number, topK?: number) => {
    const z = logits.map((v) => (o.divide ? v / scale : v * scale));
    if (topK === undefined) return softmax(z);
    const kth = [...z].sort((a, b) => b - a)[topK - 1 + (o.extra ?? 0)]!;
    if (o.renormalise === false) return softmax(z).map((p, i) => (z[i]! >= kth ? p : 0));
    return softmax(z.map((v) => (v >= kth ? v : -Infinity)));
  };
}

function inverseCdf(probs: number[], u: number): number {
  let s = 0;
  for (let i = 0; i < probs.length; i++) {
    s += probs[i]!;
    if (u < s && probs[i]! > 0) return i;
  }
  return probs.reduce((last, p, i) => (p > 0 ? i : last), 0);
}

function nucleus(includeCrossing = true) {
  return (logits: number[], p: number) => {
    const probs = softmax(logits);
    const order = probs.map((_, i) => i).sort((a, b) => probs[b]! - probs[a]!);
    const keep = new Set<number>();
    let before = 0;
    for (const i of order) {
      if (!(includeCrossing ? before < p : before === 0 || before + probs[i]! <= p)) break;
      keep.add(i);
      before += probs[i]!;
    }
    const kept = probs.map((v, i) => (keep.has(i) ? v : 0));
    const s = kept.reduce((a, b) => a + b, 0);
    return kept.map((v) => v / s);
  };
}

test('scale factor and top-k: accepts the right distribution; names division, a missing renormalisation and k off by one', async () => {
  await initTf();
  assert.equal(run(() => checkScaledProbs(scaled())).status, 'passed');
  const divided = run(() => checkScaledProbs(scaled({ divide: true })));
  assert.match(
    divided.message,
    /^probability \(scale 2\), entry: first differs at \[\d+\]: .*You divided the logits by the scale factor/,
  );
  const unnormalised = run(() => checkScaledProbs(scaled({ renormalise: false })));
  assert.match(
    unnormalised.message,
    /^your probabilities \(scale 1, top-k 5\) sums to 0\.\d+, not 1: after cutting to the top k, divide by what is left/,
  );
  assert.match(run(() => checkScaledProbs(scaled({ extra: 1 }))).message, /You kept 6 characters, not 5/);
  assert.match(run(() => checkScaledProbs((l) => l.slice(1))).message, /has 79 entries; expected 80/);
  assert.equal(run(() => checkScaledProbs(undefined)).status, 'unanswered');
  assert.equal(run(() => checkScaledProbs(() => undefined)).status, 'unanswered');
});

test('drawing an index: accepts the inverse CDF; rejects argmax, Math.random and an index off the end', async () => {
  await initTf();
  assert.equal(run(() => checkSampleIndex(inverseCdf)).status, 'passed');
  const argmax = run(() => checkSampleIndex((p) => p.indexOf(Math.max(...p))));
  assert.match(
    argmax.message,
    /^for probabilities \[0\.1, 0\.2, 0\.3, 0\.4\], index \d \(probability 0\.4\) came up for 100 % of 4000 evenly spread u .* You always return the same index/,
  );
  const random = run(() => checkSampleIndex((p) => inverseCdf(p, Math.random())));
  assert.match(random.message, /draw with u, not Math\.random\(\)/);
  const offByOne = run(() => checkSampleIndex((p, u) => inverseCdf(p, u) + 1));
  assert.match(offByOne.message, /you return (4|\d); expected an index from 0 to 3|whose probability is 0/);
  assert.equal(run(() => checkSampleIndex(() => undefined)).status, 'unanswered');
});

test('nucleus: accepts top-p with the crossing character; names stopping before it and a missing renormalisation', async () => {
  await initTf();
  assert.equal(run(() => checkNucleusProbs(nucleus())).status, 'passed');
  const early = run(() => checkNucleusProbs(nucleus(false)));
  assert.match(
    early.message,
    /^probability \(p = 0\.9; the nucleus has \d+ characters, yours \d+\), entry: first differs .*You stop before the character/,
  );
  const raw = run(() => checkNucleusProbs((l, p) => nucleus()(l, p).map((v) => v * p)));
  assert.match(raw.message, /sums to 0\.9, not 1: divide the kept probabilities by their sum/);
  assert.equal(run(() => checkNucleusProbs(undefined)).status, 'unanswered');
});
