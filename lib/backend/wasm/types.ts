/**
 * The parts of tfjs's wasm backend the patches use (the package does not export them with types).
 */
import type { tf } from '../../runtime/tfjs';

export type KernelFunc = tf.KernelConfig['kernelFunc'];
export type TensorInfo = tf.TensorInfo;

/** The parts of the wasm backend we use (it is not exported with types from the package root). */
export interface WasmBackendLike {
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object): boolean;
}
