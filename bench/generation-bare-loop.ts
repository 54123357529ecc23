import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";

/** One greedy decode run: ids and the wall time from the first run (prefill) to the last token. */
export interface BareRun {
  readonly ids: number[];
  readonly ms: number;
}

/**
 * The limit: a bare in-process onnxruntime-node greedy loop on a decoder-with-past
 * model, as its NOTICE.md describes it: prefill the prompt with empty past tensors
 * `[1, Hkv, 0, D]`, then one run per token feeding `present.*` back as
 * `past_key_values.*`, attention_mask all ones, position_ids the next position.
 * No server, no worker, no sampling beyond argmax, no detokenizer.
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
  const L = config.num_hidden_layers;
  const H = config.num_key_value_heads;
  const D = config.head_dim;
  const V = config.vocab_size;
  const session = await ort.InferenceSession.create(join(versionDir, "model.onnx"), sessionOptions);
  const int64 = (values: readonly number[], dims: number[]) =>
    new ort.Tensor("int64", BigInt64Array.from(values, BigInt), dims);

  async function run(prompt: readonly number[], tokens: number): Promise<BareRun> {
    const feeds: Record<string, ort.Tensor> = {};
    for (let i = 0; i < L; i++) {
      feeds[`past_key_values.${i}.key`] = new ort.Tensor("float32", new Float32Array(0), [
        1,
        H,
        0,
        D,
      ]);
      feeds[`past_key_values.${i}.value`] = new ort.Tensor("float32", new Float32Array(0), [
        1,
        H,
        0,
        D,
      ]);
    }
    let input = [...prompt];
    let length = 0;
    const ids: number[] = [];
    const started = performance.now();
    while (ids.length < tokens) {
      feeds.input_ids = int64(input, [1, input.length]);
      feeds.position_ids = int64(
        input.map((_, j) => length + j),
        [1, input.length],
      );
      length += input.length;
      feeds.attention_mask = int64(new Array<number>(length).fill(1), [1, length]);
      const out = await session.run(feeds);
      const logits = out.logits?.data as Float32Array;
      const from = logits.length - V;
      let best = 0;
      for (let v = 1; v < V; v++)
        if ((logits[from + v] ?? 0) > (logits[from + best] ?? 0)) best = v;
      ids.push(best);
      input = [best];
      for (let i = 0; i < L; i++) {
        feeds[`past_key_values.${i}.key`] = out[`present.${i}.key`] as ort.Tensor;
        feeds[`past_key_values.${i}.value`] = out[`present.${i}.value`] as ort.Tensor;
      }
    }
    return { ids, ms: performance.now() - started };
  }

  return { run, release: () => session.release() };
}
