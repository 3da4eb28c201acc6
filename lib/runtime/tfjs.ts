/**
 * The one place @tensorflow/tfjs and its wasm backend are loaded (source-map support off meanwhile:
 * source-maps-off.ts says why). lib/runtime/tf.ts picks the backend; lib/backend's patches use this
 * module directly because tf.ts loads them.
 */
import { restoreSourceMaps } from './source-maps-off';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

restoreSourceMaps();

export { tf };
