import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";

/** One greedy decode run: row 0's ids and the wall time from the prefill to the last token. */
export interface BareRun {
  readonly ids: number[];
  readonly ms: number;
  /** Wall time of the first run (the prefill, which yields the first token). */
  readonly firstMs: number;
}

/**
 * The limit: a bare in-process onnxruntime-node greedy loop on a decoder-with-past
 * model, as its NOTICE.md describes it: prefill the prompt with empty past tensors
 * `[batch, Hkv, 0, D]`, then one run per token feeding `present.*` back as
 * `past_key_values.*`, attention_mask all ones, position_ids the next position.
 * No server, no worker, no padding, no sampling beyond argmax, no detokenizer.
 * `batch` > 1 decodes that many copies of the prompt in each run: the best case of
 * batching, for comparing aggregate rates.
 */
export async function createBareLoop(
  versionDir: string,
  sessionOptions: ort.InferenceSession.SessionOptions = {},
) {
  const config = JSON.parse(readFileSync(join(versionDir, "config.json"), "utf8")) as {
    num_hidden_layers: number;
    num_key_value_heads: number;
    head_dim: number;
    vocab_size: number;
  };
  const { num_hidden_layers: L, num_key_value_heads: H, head_dim: D, vocab_size: V } = config;
  const session = await ort.InferenceSession.create(join(versionDir, "model.onnx"), sessionOptions);
  const int64 = (values: readonly number[], dims: number[]) =>
    new ort.Tensor("int64", BigInt64Array.from(values, BigInt), dims);
  const argmax = (logits: Float32Array, from: number) => {
    let best = 0;
    for (let v = 1; v < V; v++) if ((logits[from + v] ?? 0) > (logits[from + best] ?? 0)) best = v;
    return best;
  };

  async function run(prompt: readonly number[], tokens: number, batch = 1): Promise<BareRun> {
    const feeds: Record<string, ort.Tensor> = {};
    const empty = () => new ort.Tensor("float32", new Float32Array(0), [batch, H, 0, D]);
    for (let i = 0; i < L; i++) {
      feeds[`past_key_values.${i}.key`] = empty();
      feeds[`past_key_values.${i}.value`] = empty();
    }
    let input: number[][] = Array.from({ length: batch }, () => [...prompt]);
    let length = 0;
    const ids: number[] = [];
    const started = performance.now();
    let firstMs = 0;
    while (ids.length < tokens) {
      const n = input[0]?.length ?? 0;
      feeds.input_ids = int64(input.flat(), [batch, n]);
      const positions = Array.from({ length: n }, (_, j) => length + j);
      feeds.position_ids = int64(
        input.flatMap(() => positions),
        [batch, n],
      );
      length += n;
      feeds.attention_mask = int64(new Array<number>(batch * length).fill(1), [batch, length]);
      const out = await session.run(feeds);
      const logits = out.logits?.data as Float32Array;
      input = Array.from({ length: batch }, (_, r) => [argmax(logits, (r * n + n - 1) * V)]);
      ids.push(input[0]?.[0] ?? 0);
      if (ids.length === 1) firstMs = performance.now() - started;
      for (let i = 0; i < L; i++) {
        feeds[`past_key_values.${i}.key`] = out[`present.${i}.key`] as ort.Tensor;
        feeds[`past_key_values.${i}.value`] = out[`present.${i}.value`] as ort.Tensor;
      }
    }
    return { ids, ms: performance.now() - started, firstMs };
  }

  return { run, release: () => session.release() };
}
