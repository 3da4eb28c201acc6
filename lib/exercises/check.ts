/**
 * Graded exercises: every notebook ends with a few exercise cells, each a `check…(answer)` call that says
 * ✓, or specifically what is wrong (a shape, a value out of range, a gradient that disagrees, with where).
 *
 * A check never stops the notebook: an unanswered or wrong exercise is reported in the cell's output, so
 * the notebooks run headlessly with the exercises left empty. The worked solutions (notebooks/solutions/)
 * call `strictChecks()` first: there a check that does not pass throws, so running them proves every
 * check accepts a correct answer.
 */

export interface Verdict {
  exercise: string;
  /** 'passed', 'failed' (with what is wrong) or 'unanswered' (the answer is still `undefined`). */
  status: 'passed' | 'failed' | 'unanswered';
  message: string;
}

/** A grader's reason for rejecting an answer: the message the learner reads. */
class WrongAnswer extends Error {}

/** Rejects the answer with `message` unless `ok`. */
export function expect(ok: boolean, message: string): asserts ok {
  if (!ok) throw new WrongAnswer(message);
}

let strict = false;

/** From here on, a check that does not pass throws (the solutions notebooks call this first). */
export function strictChecks(on = true): void {
  strict = on;
}

const MARK = { passed: '✓', failed: '✗', unanswered: '✎' } as const;

/**
 * Runs `grader` on `answer` (which it may call: a function the learner wrote) and reports the verdict.
 * `grader` returns what a correct answer earned (e.g. "loss 2.0927, 0.02 below the lecture's") or throws
 * WrongAnswer; any other error thrown while grading is reported as the learner's code failing.
 */
export function grade<A>(exercise: string, answer: A | undefined, grader: (answer: A) => string): Verdict {
  let verdict: Verdict;
  if (answer === undefined) {
    verdict = { exercise, status: 'unanswered', message: 'not answered yet: replace `undefined` with your answer' };
  } else {
    try {
      verdict = { exercise, status: 'passed', message: grader(answer) };
    } catch (e) {
      const message =
        e instanceof WrongAnswer
          ? e.message
          : `your code threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
      verdict = { exercise, status: 'failed', message };
    }
  }
  report(verdict);
  quiet(verdict);
  if (strict && verdict.status !== 'passed')
    throw new Error(`exercise ${exercise} did not pass (${verdict.status}): ${verdict.message}`);
  return verdict;
}

/**
 * One plain line (✓ / ✗ / ✎, the exercise, the message): it reads the same in the notebook, in an exported
 * post and in a terminal.
 */
function report(v: Verdict): void {
  console.log(`${MARK[v.status]} ${v.exercise}: ${v.message}`);
}

/**
 * The verdict, which tslab would also print when a check is a cell's last expression: it prints as
 * nothing (the line above says it all) but keeps its fields for code and tests.
 */
function quiet(v: Verdict): Verdict {
  return Object.defineProperty(v, Symbol.for('nodejs.util.inspect.custom'), { value: () => '', enumerable: false });
}

/** "[27, 27]" for a shape, for messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** The first index where `got` and `want` differ by more than `tol` (absolute + relative), or null. */
export function firstMismatch(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol = { abs: 1e-5, rel: 1e-4 },
): { index: number; got: number; want: number } | null {
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    if (!(Math.abs(g - w) <= tol.abs + tol.rel * Math.abs(w))) return { index: i, got: g, want: w };
  }
  return null;
}
