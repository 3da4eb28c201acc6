/**
 * Loss curves of long runs: the makemore CLI's log.jsonl (one JSON object per evaluation) and the
 * reference file notebook 09 plots (docs/reference/transformer-names.json).
 */
import fs from 'node:fs';
import { readJsonFile, readJsonLines } from '../data/read-checked';

export { readJsonLines, type JsonLine } from '../data/read-checked';

/** One evaluation of a run: the step and its train / test loss. */
export interface LossRow {
  step: number;
  train_loss: number;
  test_loss: number;
}

/** A run's curve: evaluations in step order. */
export interface Curve {
  label: string;
  step: number[];
  train: number[];
  test: number[];
}

/**
 * Reads a log.jsonl written by `npm run makemore` (or scripts/torch/makemore.py). A line that is not
 * JSON, or lacks a field, is an error naming file:line (readJsonLines: a regular UTF-8 file, CRLF and BOM accepted).
 */
export function readLossLog(file: string): LossRow[] {
  if (!fs.existsSync(file)) throw new Error(`loss log not found: ${file}`);
  return readJsonLines(file).map(({ line, value }) => {
    const r = (typeof value === 'object' && value !== null ? value : {}) as Partial<LossRow>;
    if (typeof r.step !== 'number' || typeof r.train_loss !== 'number' || typeof r.test_loss !== 'number')
      throw new Error(`${file}:${line}: expected step, train_loss and test_loss`);
    return r as LossRow;
  });
}

/** The curves stored in a reference file. */
export function readCurves(file: string): Curve[] {
  const j = readJsonFile(file) as { curves?: unknown } | null;
  if (!j || !Array.isArray(j.curves)) throw new Error(`${file}: expected an object with a curves array`);
  return j.curves as Curve[];
}

/** The evaluation with the lowest test loss, and where the curve ended. */
export function bestPoint(c: Curve): { step: number; test: number; train: number; lastStep: number; lastTest: number } {
  if (c.test.length === 0) throw new Error(`curve '${c.label}' is empty`);
  const i = c.test.indexOf(Math.min(...c.test));
  const last = c.test.length - 1;
  return {
    step: c.step[i] as number,
    test: c.test[i] as number,
    train: c.train[i] as number,
    lastStep: c.step[last] as number,
    lastTest: c.test[last] as number,
  };
}
