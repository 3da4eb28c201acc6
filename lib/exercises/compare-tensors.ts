/**
 * What the graders of notebooks 07–11 share: grading a function the learner wrote on tensors (a stub that
 * still returns `undefined` counts as unanswered; every tensor made while grading is freed), and the
 * comparisons whose messages say where an answer goes wrong: a shape with its axes named, the first (or
 * the worst) wrong entry with its multi-index, and a hint when the answer matches a known mistake.
 */
import { tf } from '../runtime/tf';
import type { Rng } from '../random/rng';
import { expect, firstMismatch, formatShape, grade, type Verdict } from './check';

/** Absolute + relative tolerance, as firstMismatch takes it. */
export type Tolerance = { abs: number; rel: number };

/** A known mistake: if the answer matches `value` (within the tolerance), the message ends with `hint`. */
export interface Mistake {
  value: ArrayLike<number> | tf.Tensor;
  hint: string;
}

/**
 * Grades `answer` (usually a function the learner wrote) inside tf.tidy, so that the check leaves the
 * tensor count as it found it. `stub` runs the answer once on a small input: if that returns `undefined`,
 * the answer is an untouched stub and is reported as unanswered. Errors in the stub run are left for the
 * grader to report.
 */
export function gradeTidy<A>(
  exercise: string,
  answer: A | undefined,
  grader: (answer: A) => string,
  stub?: (answer: A) => unknown,
): Verdict {
  let given = answer;
  if (given !== undefined && stub) {
    const probe = given;
    let result: unknown = null;
    try {
      tf.tidy(() => {
        result = stub(probe);
      });
    } catch {
      result = null; // the grader calls it again and says what it threw
    }
    if (result === undefined) given = undefined;
  }
  return grade(exercise, given, (a) => tf.tidy(() => grader(a)));
}

/** A number for a message: 6 significant digits, NaN and ±Infinity spelt out. */
export function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '−Infinity';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-4 && a < 1e6 ? String(Number(v.toPrecision(6))) : v.toExponential(4);
}

/** "[2, 5]": the multi-index of flat position `flat` in an array of `shape` (row-major). */
function formatIndex(flat: number, shape: readonly number[]): string {
  const idx: number[] = [];
  let rest = flat;
  for (let k = shape.length - 1; k >= 0; k--) {
    const d = shape[k] as number;
    idx.unshift(rest % d);
    rest = Math.floor(rest / d);
  }
  return `[${idx.join(', ')}]`;
}

function isTensor(v: unknown): v is tf.Tensor {
  return v instanceof tf.Tensor;
}

/**
 * Rejects unless `got` is a tensor of shape `want`. `axes` names the axes for the message ("B, H" makes
 * "expected [B, H] = [4, 6]").
 */
export function expectTensor(
  what: string,
  got: unknown,
  want: readonly number[],
  axes?: string,
): asserts got is tf.Tensor {
  const expected = axes ? `[${axes}] = ${formatShape(want)}` : formatShape(want);
  expect(got !== undefined && got !== null, `${what} is ${String(got)}: expected a tensor of shape ${expected}`);
  expect(
    isTensor(got),
    `${what} is not a tensor (got ${Array.isArray(got) ? 'an array' : typeof got}): expected a tensor of shape ${expected}`,
  );
  const same = got.shape.length === want.length && got.shape.every((d, i) => d === want[i]);
  let extra = '';
  if (!same && want.length === 2 && got.shape[0] === want[1] && got.shape[1] === want[0])
    extra = ' (its transpose: the two axes are swapped — check which operand of the matmul is transposed)';
  else if (!same && got.size === want.reduce((a, b) => a * b, 1))
    extra = ' (the right number of entries: check the reshape)';
  else if (!same && got.rank === want.length + 1 && got.shape.includes(1)) extra = ' (an axis of size 1 too many)';
  expect(same, `${what} has shape ${formatShape(got.shape)}; expected ${expected}${extra}`);
}

function values(v: ArrayLike<number> | tf.Tensor): ArrayLike<number> {
  return isTensor(v) ? (v.dataSync() as Float32Array) : v;
}

function matches(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance): boolean {
  return got.length === want.length && firstMismatch(got, want, tol) === null;
}

/**
 * Rejects unless `got` equals `want` entry by entry within `tol`. The message names the entry —
 * the first that differs (`report: 'first'`) or the one that differs most (`'worst'`) — with its index in
 * `shape`, both values, and how many entries differ; then the hint of the first `mistakes` entry the
 * answer matches. Shapes are the caller's to check first.
 */
export function expectClose(
  what: string,
  got: ArrayLike<number> | tf.Tensor,
  want: ArrayLike<number> | tf.Tensor,
  o: {
    shape: readonly number[];
    tol?: Tolerance;
    report?: 'first' | 'worst';
    reference?: string;
    mistakes?: readonly Mistake[];
  },
): void {
  const tol = o.tol ?? { abs: 1e-5, rel: 1e-4 };
  const g = values(got);
  const w = values(want);
  const first = firstMismatch(g, w, tol);
  if (first === null) return;
  let bad = 0;
  let worst = first.index;
  let worstDiff = -1;
  for (let i = 0; i < w.length; i++) {
    const d = Math.abs((g[i] as number) - (w[i] as number));
    const off = !(d <= tol.abs + tol.rel * Math.abs(w[i] as number));
    if (off) bad++;
    const rank = Number.isNaN(d) ? Infinity : d;
    if (off && rank > worstDiff) {
      worstDiff = rank;
      worst = i;
    }
  }
  const at = o.report === 'worst' ? worst : first.index;
  const gv = g[at] as number;
  const wv = w[at] as number;
  const which = o.report === 'worst' ? 'differs most' : 'first differs';
  const ref = o.reference ?? 'the reference';
  let message =
    `${what}: ${which} at ${formatIndex(at, o.shape)}: ${num(gv)} where ${ref} gives ${num(wv)} ` +
    `(difference ${num(Math.abs(gv - wv))}; ${bad} of ${w.length} entries differ by more than ` +
    `${tol.abs.toExponential(0)} + ${tol.rel.toExponential(0)}·|expected|)`;
  const hit = (o.mistakes ?? []).find((m) => matches(g, values(m.value), tol));
  if (hit) message += `. ${hit.hint}`;
  expect(false, message);
}

/** A tensor of standard normal values (times `scale`) drawn from `rng`. */
export function randomTensor(rng: Rng, shape: number[], scale = 1): tf.Tensor {
  const v = rng.randn(shape);
  return tf.tensor(scale === 1 ? v : v.map((x) => x * scale), shape, 'float32');
}

/** Integer ids uniform in [0, high) drawn from `rng`, as an int32 tensor. */
export function randomIds(rng: Rng, shape: number[], high: number): tf.Tensor {
  return tf.tensor(rng.randint(0, high, shape), shape, 'int32');
}
