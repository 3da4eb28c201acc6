/**
 * Layers that work along a sequence's positions (rows of f.T per sequence in the fused step):
 * learned position embeddings added (makemore's wpe), and the bag of words' causal running mean.
 */
import { tf } from '../runtime/tf';
import { Module } from './module';
import type { Act, FusedLayer, StepFrame } from '../fused/frame';

/** x [B, T, E] + wpe[:T]: position t's learned vector added at t; dwpe[t] = Σ_b dy[b, t], dx = dy. */
export class AddPositions extends Module {
  constructor(readonly wpe: tf.Variable) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return x.add(this.wpe.slice([0, 0], [x.shape[1] as number, -1]));
  }
  fused(): FusedLayer {
    const wpe = this.wpe;
    return {
      forward(f: StepFrame, x: Act): Act {
        const y = f.act(x.rows, x.width);
        f.k.add_positions(x.at, f.value.get(wpe)!, y.at, x.rows / f.T, f.T, x.width);
        return y;
      },
      backward(f: StepFrame, dy: Act): Act {
        // wpe has blockSize rows: with T < blockSize the rest keep the frame's zero gradient
        f.k.add_positions_backward(dy.at, f.grad.get(wpe)!, dy.rows / f.T, f.T, dy.width);
        return dy;
      },
    };
  }
  namedWeights(): Record<string, tf.Variable> {
    return { wpe: this.wpe };
  }
}

/** A lower-triangular averaging matrix [T, T] (row t averages positions ≤ t). */
function causalAverage(T: number): tf.Tensor2D {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) m[i * T + j] = 1 / (i + 1);
  return tf.tensor2d(m, [T, T]);
}

/** makemore's bag of words: y[t] = x[t] + mean(x[0..t]); dx[s] = dy[s] + Σ_{t≥s} dy[t] / (t + 1). */
export class CausalMean extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return x.add(tf.matMul(causalAverage(x.shape[1] as number), x as tf.Tensor3D)); // [T,T] @ [B,T,E] broadcast
  }
  fused(): FusedLayer {
    return {
      forward(f: StepFrame, x: Act): Act {
        const y = f.act(x.rows, x.width);
        f.k.causal_mean(x.at, y.at, x.rows / f.T, f.T, x.width);
        return y;
      },
      backward(f: StepFrame, dy: Act): Act {
        const dx = f.act(dy.rows, dy.width);
        f.k.causal_mean_backward(dy.at, dx.at, dy.rows / f.T, f.T, dy.width);
        return dx;
      },
    };
  }
  namedWeights(): Record<string, tf.Variable> {
    return {};
  }
}
