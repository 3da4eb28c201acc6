/**
 * The one import point for TensorFlow.js (loaded by ./tfjs).
 *
 * The backend is wasm with our kernels (else cpu), on every machine: the one the tests, the lecture
 * references and the benchmark cover. `SEQUENTIA_BACKEND=node` opts into tfjs-node (an optional
 * dependency: native TensorFlow, other float rounding, none of lib/backend's kernels), `=cpu` or `=wasm`
 * force one. Call `await initTf()` once before using `tf`; it says once which backend runs.
 */
import { tf } from './tfjs';
import { createRequire } from 'node:module';
import { patchWasmKernels } from '../backend/patch-wasm';

export { tf };
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

const localRequire = createRequire(__filename);
let ready: Promise<BackendName> | null = null;

function tryLoadNode(): boolean {
  try {
    // tfjs-node registers the 'tensorflow' backend as a side effect of loading.
    localRequire('@tensorflow/tfjs-node');
    return tf.findBackend('tensorflow') !== null;
  } catch {
    return false;
  }
}

async function choose(): Promise<BackendName> {
  const wanted = (process.env.SEQUENTIA_BACKEND ?? '').toLowerCase();
  const order: BackendName[] =
    wanted === 'node' || wanted === 'tensorflow'
      ? ['tensorflow']
      : wanted === 'wasm'
        ? ['wasm']
        : wanted === 'cpu'
          ? ['cpu']
          : wanted === ''
            ? ['wasm', 'cpu']
            : (() => {
                throw new Error(`SEQUENTIA_BACKEND='${wanted}' is not one of node, wasm, cpu`);
              })();
  for (const name of order) {
    if (name === 'tensorflow' && !tryLoadNode()) continue;
    if (name === 'wasm') patchWasmKernels();
    if (await tf.setBackend(name)) {
      await tf.ready();
      return name;
    }
  }
  throw new Error(`no TensorFlow.js backend could start (tried ${order.join(', ')})`);
}

/** Picks and initialises the backend once; later calls return the same answer. */
export function initTf(opts: { quiet?: boolean } = {}): Promise<BackendName> {
  if (!ready) {
    ready = choose().then((name) => {
      if (!opts.quiet && !process.env.SEQUENTIA_QUIET_BACKEND) console.log(`tfjs backend: ${name}`);
      return name;
    });
  }
  return ready;
}
