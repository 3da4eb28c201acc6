/**
 * `BatchMatMul` / `_FusedMatMul` with `transposeA`/`transposeB` take a slow path in the wasm kernel
 * (measured ~2 GFLOP/s against ~16 GFLOP/s untransposed). Every backward pass asks for transposed
 * products, so we materialise the transpose (a fast wasm kernel) and multiply untransposed.
 */
import { KernelFunc, TensorInfo, WasmBackendLike } from './types';

function transposeLastTwo(x: TensorInfo, backend: object, transposeFn: KernelFunc): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return transposeFn({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
}

export function untransposed(original: KernelFunc, transposeFn: KernelFunc): KernelFunc {
  return (args) => {
    const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    if (!attrs.transposeA && !attrs.transposeB) return original(args);
    const backend = args.backend as WasmBackendLike;
    const inputs = { ...args.inputs } as Record<string, TensorInfo>;
    const temps: TensorInfo[] = [];
    if (attrs.transposeA) {
      inputs.a = transposeLastTwo(inputs.a as TensorInfo, args.backend, transposeFn);
      temps.push(inputs.a);
    }
    if (attrs.transposeB) {
      inputs.b = transposeLastTwo(inputs.b as TensorInfo, args.backend, transposeFn);
      temps.push(inputs.b);
    }
    const out = original({ ...args, inputs, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
    for (const t of temps) backend.disposeData(t.dataId);
    return out;
  };
}
