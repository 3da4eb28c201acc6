/**
 * `OneHot` on wasm writes int32 values whatever dtype is asked for: a float32 one-hot reads back as
 * 1.4e-45 (the bits of the integer 1) instead of 1. For any dtype but int32 we fill the output here.
 */
import type { tf } from '../../runtime/tfjs';
import type { KernelFunc, TensorInfo, WasmBackendLike } from './types';

export function oneHotAnyDtype(original: KernelFunc): KernelFunc {
  return (args) => {
    const { dtype, depth, onValue, offValue } = args.attrs as unknown as {
      dtype: tf.DataType;
      depth: number;
      onValue: number;
      offValue: number;
    };
    if (dtype === 'int32') return original(args);
    const b = args.backend as WasmBackendLike;
    const indices = args.inputs.indices as TensorInfo;
    const ids = b.typedArrayFromHeap(indices);
    const out = b.makeOutput([...indices.shape, depth], dtype);
    const values = b.typedArrayFromHeap(out);
    values.fill(offValue);
    for (let i = 0; i < ids.length; i++) {
      const k = ids[i] as number;
      if (k >= 0 && k < depth) values[i * depth + k] = onValue; // out of range: all off, as tf.oneHot
    }
    return out;
  };
}
