/**
 * Notebook 08's exercises, on plain arrays: the distribution a scale factor and top-k give (checked
 * against the sampler's own probsFromLogits), drawing an index from probabilities (checked for its
 * distribution over a uniform grid of u), and nucleus (top-p) filtering.
 */
import { probsFromLogits } from '../sample/draw';
import { FastGenerator } from '../random/fast-generator';
import { expect, type Verdict } from './check';
import { expectClose, gradeTidy, num, type Mistake } from './compare-tensors';

/** The book's sampling: logits × scale, then (optionally) only the k most likely kept → probabilities. */
export type ScaledProbs = (logits: number[], scale: number, topK?: number) => ArrayLike<number> | undefined;
/** Draws an index from `probs` given u uniform in [0, 1). */
export type SampleIndex = (probs: number[], u: number) => number | undefined;
/** Nucleus filtering: the smallest set of most likely tokens whose probability reaches p, renormalised. */
export type NucleusProbs = (logits: number[], p: number) => ArrayLike<number> | undefined;

/** 80 random logits (the novel's alphabet), spread like a trained model's (sd 2), no ties. */
function randomLogits(seed: string, n = 80): number[] {
  return Array.from(new FastGenerator(seed).randn(n), (v) => 2 * v);
}

function softmax(logits: readonly number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * Rejects unless `got` is an array of `n` finite, non-negative numbers that sum to 1 (within 1e-4).
 * `sumHint` is added when only the sum is wrong.
 */
function expectDistribution(what: string, got: unknown, n: number, sumHint: string): asserts got is ArrayLike<number> {
  expect(
    got !== null && typeof got === 'object' && typeof (got as ArrayLike<number>).length === 'number',
    `${what} is ${got === null ? 'null' : typeof got}: expected an array of ${n} probabilities`,
  );
  const a = got as ArrayLike<number>;
  expect(a.length === n, `${what} has ${a.length} entries; expected ${n} (one per character)`);
  for (let i = 0; i < n; i++) {
    const v = a[i] as number;
    expect(Number.isFinite(v) && v >= 0, `${what}: entry ${i} is ${num(v)}; probabilities are finite and ≥ 0`);
  }
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i] as number;
  expect(Math.abs(s - 1) <= 1e-4, `${what} sums to ${num(s)}, not 1${sumHint}`);
}

/** Checks (logits, scale, topK?) → probabilities against the sampler's probsFromLogits (temperature 1/scale). */
export function checkScaledProbs(scaledProbs: ScaledProbs | undefined): Verdict {
  const cases: { scale: number; topK?: number; seed: string }[] = [
    { scale: 1, seed: 's1' },
    { scale: 2, seed: 's2' },
    { scale: 0.5, seed: 's3' },
    { scale: 1, topK: 5, seed: 's4' },
    { scale: 2, topK: 1, seed: 's5' },
    { scale: 0.5, topK: 40, seed: 's6' },
  ];
  return gradeTidy(
    '08·1 scale factor and top-k',
    scaledProbs,
    (f) => {
      for (const { scale, topK, seed } of cases) {
        const logits = randomLogits(seed);
        const label = `scale ${scale}${topK === undefined ? '' : `, top-k ${topK}`}`;
        const got = f([...logits], scale, topK);
        expectDistribution(
          `your probabilities (${label})`,
          got,
          logits.length,
          topK === undefined ? '' : ': after cutting to the top k, divide by what is left (renormalise)',
        );
        const want = probsFromLogits(logits, { temperature: 1 / scale, topK });
        const mistakes: Mistake[] = [
          {
            value: probsFromLogits(logits, { temperature: scale, topK }),
            hint: 'You divided the logits by the scale factor; the book multiplies them (scale = 1/temperature).',
          },
        ];
        if (topK !== undefined && topK > 1)
          mistakes.push({
            value: probsFromLogits(logits, { temperature: 1 / scale, topK: topK - 1 }),
            hint: `You kept ${topK - 1} characters, not ${topK}.`,
          });
        if (topK !== undefined)
          mistakes.push({
            value: probsFromLogits(logits, { temperature: 1 / scale, topK: topK + 1 }),
            hint: `You kept ${topK + 1} characters, not ${topK}.`,
          });
        expectClose(`probability (${label}), entry`, got, want, {
          shape: [logits.length],
          tol: { abs: 1e-6, rel: 1e-4 },
          reference: "the sampler's probsFromLogits",
          mistakes,
        });
      }
      return `the sampler's distribution for ${cases.length} settings (scale 0.5, 1, 2; top-k 1, 5, 40)`;
    },
    (f) => f(randomLogits('probe'), 1),
  );
}

/** Checks (probs, u) → index: over a uniform grid of u, every index must come up in proportion to its probability. */
export function checkSampleIndex(sampleIndex: SampleIndex | undefined): Verdict {
  const N = 4000;
  const dists: { name: string; p: number[] }[] = [
    { name: '[0.1, 0.2, 0.3, 0.4]', p: [0.1, 0.2, 0.3, 0.4] },
    { name: '[0, 0.5, 0, 0.5]', p: [0, 0.5, 0, 0.5] },
    { name: 'a softmax over 27 characters', p: softmax(randomLogits('names', 27)) },
    { name: '[0, 0, 1]', p: [0, 0, 1] },
  ];
  return gradeTidy(
    '08·2 drawing an index',
    sampleIndex,
    (f) => {
      for (const { name, p } of dists) {
        const counts = new Array<number>(p.length).fill(0);
        for (let k = 0; k < N; k++) {
          const u = (k + 0.5) / N;
          const i = f([...p], u);
          expect(
            typeof i === 'number' && Number.isInteger(i) && i >= 0 && i < p.length,
            `for probabilities ${name} and u = ${u} you return ${String(i)}; expected an index from 0 to ${p.length - 1}`,
          );
          expect(p[i] !== 0, `for probabilities ${name} and u = ${u} you return index ${i}, whose probability is 0`);
          expect(
            f([...p], u) === i,
            `two calls with the same u = ${u} gave different indices: draw with u, not Math.random()`,
          );
          counts[i] = (counts[i] as number) + 1;
        }
        const zero = f([...p], 0);
        expect(
          typeof zero === 'number' && p[zero] !== undefined && p[zero] !== 0,
          `for probabilities ${name} and u = 0 you return ${String(zero)}: u = 0 must give an index whose probability is not 0`,
        );
        const freq = counts.map((c) => c / N);
        let worst = 0;
        for (let i = 0; i < p.length; i++)
          if (
            Math.abs((freq[i] as number) - (p[i] as number)) > Math.abs((freq[worst] as number) - (p[worst] as number))
          )
            worst = i;
        expect(
          Math.abs((freq[worst] as number) - (p[worst] as number)) <= 0.005,
          `for probabilities ${name}, index ${worst} (probability ${num(p[worst] as number)}) came up for ` +
            `${num(100 * (freq[worst] as number))} % of ${N} evenly spread u in [0, 1); expected ${num(100 * (p[worst] as number))} %` +
            (freq.some((v) => v === 1) && p.filter((v) => v > 0).length > 1
              ? '. You always return the same index: draw according to u (the running sum of the probabilities passes u at the answer).'
              : ''),
        );
      }
      return `frequencies within 0.5 % of the probabilities over ${N} evenly spread u, for ${dists.length} distributions`;
    },
    (f) => f([0.5, 0.5], 0.25),
  );
}

/** Nucleus filtering as the check defines it: sorted by probability, a token is kept if the ones before it sum to < p. */
function nucleus(probs: readonly number[], p: number, includeCrossing = true): number[] {
  const order = probs.map((_, i) => i).sort((a, b) => (probs[b] as number) - (probs[a] as number));
  const keep = new Array<boolean>(probs.length).fill(false);
  let before = 0;
  for (const i of order) {
    const v = probs[i] as number;
    if (includeCrossing ? before < p : before + v <= p || before === 0) keep[i] = true;
    else break;
    before += v;
  }
  const kept = probs.map((v, i) => (keep[i] ? v : 0));
  const s = kept.reduce((a, b) => a + b, 0);
  return kept.map((v) => v / s);
}

/** Checks (logits, p) → nucleus (top-p) probabilities against the definition, for p from 0.01 to 1. */
export function checkNucleusProbs(nucleusProbs: NucleusProbs | undefined): Verdict {
  const cases = [
    { p: 0.9, seed: 'n1' },
    { p: 0.5, seed: 'n2' },
    { p: 0.75, seed: 'n3' },
    { p: 1, seed: 'n4' },
    { p: 0.01, seed: 'n5' },
  ];
  return gradeTidy(
    '08·3 nucleus (top-p) sampling',
    nucleusProbs,
    (f) => {
      for (const { p, seed } of cases) {
        const logits = randomLogits(seed);
        const probs = softmax(logits);
        const got = f([...logits], p);
        expectDistribution(
          `your probabilities (p = ${p})`,
          got,
          logits.length,
          ': divide the kept probabilities by their sum',
        );
        const want = nucleus(probs, p);
        const kept = want.filter((v) => v > 0).length;
        const gotKept = Array.from(got).filter((v) => v > 0).length;
        expectClose(`probability (p = ${p}; the nucleus has ${kept} characters, yours ${gotKept}), entry`, got, want, {
          shape: [logits.length],
          tol: { abs: 1e-6, rel: 1e-4 },
          reference: 'top-p',
          mistakes: [
            {
              value: nucleus(probs, p, false),
              hint: 'You stop before the character that makes the sum reach p; the nucleus includes it (and always the most likely one).',
            },
          ],
        });
      }
      return `the nucleus for p = ${cases.map((c) => c.p).join(', ')}`;
    },
    (f) => f(randomLogits('probe'), 0.9),
  );
}
