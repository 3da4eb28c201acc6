/** The kernels a job can run (chunks.cjs lists them; threads.ts's Share names one). */
export declare const JOBS: readonly string[];
export declare const WORDS: {
  readonly POSTED: 0;
  readonly KIND: 1;
  readonly NARGS: 2;
  readonly NEXT: 3;
  readonly DONE: 4;
  readonly CHUNKS: 5;
  readonly COUNT_ARG: 6;
  readonly PER_CHUNK: 7;
  readonly TOTAL: 8;
  readonly ERROR: 9;
  readonly READY: 10;
  readonly WORKER_CHUNKS: 11;
  readonly ARGS: 16;
  readonly STEPS: 32;
  readonly CTL_WORDS: 48;
};
export declare function claim(ctl: Int32Array): number;
export declare function runChunk(ctl: Int32Array, c: number, kernels: object): void;
