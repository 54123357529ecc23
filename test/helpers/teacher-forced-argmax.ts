import * as ort from "onnxruntime-node";
import { fromFloat16Bits } from "../../src/tensor/float16.js";

/**
 * The argmax of the logits at every position of `tokens`, fed in one run with an
 * empty past (teacher forcing: each position sees the given tokens, not the model's
 * own choices, so two models are compared position by position). Reads the KV
 * shape and dtype from the model's own past_key_values inputs.
 */
export async function teacherForcedArgmax(
  model: Uint8Array,
  tokens: readonly number[],
): Promise<number[]> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    const n = tokens.length;
    const ids = BigInt64Array.from(tokens, BigInt);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", ids, [1, n]),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(n).fill(1n), [1, n]),
    };
    if (session.inputNames.includes("position_ids")) {
      const positions = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
      feeds.position_ids = new ort.Tensor("int64", positions, [1, n]);
    }
    for (const meta of session.inputMetadata) {
      if (!meta.name.startsWith("past_key_values.") || !meta.isTensor) continue;
      const dims = [1, Number(meta.shape[1]), 0, Number(meta.shape[3])];
      const type = meta.type === "float16" ? "float16" : "float32";
      const data = type === "float16" ? new Uint16Array(0) : new Float32Array(0);
      feeds[meta.name] = new ort.Tensor(type, data, dims);
    }
    const logits = (await session.run(feeds, ["logits"])).logits as ort.Tensor;
    const vocab = Number(logits.dims[2]);
    const values = toNumbers(logits);
    return Array.from({ length: n }, (_, i) => argmax(values, i * vocab, vocab));
  } finally {
    await session.release();
  }
}

function toNumbers(tensor: ort.Tensor): ArrayLike<number> {
  if (tensor.type !== "float16") return tensor.data as Float32Array;
  return Float32Array.from(tensor.data as Uint16Array, fromFloat16Bits);
}

function argmax(values: ArrayLike<number>, from: number, length: number): number {
  let best = 0;
  for (let j = 1; j < length; j++) {
    if ((values[from + j] ?? 0) > (values[from + best] ?? 0)) best = j;
  }
  return best;
}

/** The share of positions where two argmax sequences agree. */
export function agreement(a: readonly number[], b: readonly number[]): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}
