import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { createGraphBuilder } from "../../../scripts/fixtures/onnx-graph-builder.js";
import { buildTinyLlamaModel } from "../../../scripts/fixtures/tiny-llama-model.js";
import {
  createTinyLlamaWeights,
  TINY_LLAMA_SHAPE,
} from "../../../scripts/fixtures/tiny-llama-weights.js";
import type { DecoderSignature } from "../../../src/generation/engine/decoder-signature.js";
import { appendKvMatches } from "../../../src/generation/kv-rewrite/append-kv-check.js";
import { rewriteForAppendKv } from "../../../src/generation/kv-rewrite/append-kv-rewrite.js";
import { createInProcessSession } from "../../../src/runtime/in-process-session.js";
import type { HostTensor } from "../../../src/tensor/host-tensor.js";
import { maxAbsDiff } from "../../fixtures/ort-helpers.js";
import { FIXTURE_REPO, SHARED_STORIES } from "../../helpers/fixtures.js";

interface Decoder {
  readonly name: string;
  readonly model: () => Uint8Array;
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocab: number;
}

const TINY = {
  ...{ layers: TINY_LLAMA_SHAPE.numLayers, kvHeads: TINY_LLAMA_SHAPE.numKvHeads },
  ...{ headDim: TINY_LLAMA_SHAPE.headDim, vocab: 0 },
};
const TINY_PATH = join(FIXTURE_REPO, "tiny_llama/1/model.onnx");
const STORIES_PATH = join(SHARED_STORIES, "1/model.onnx");

const DECODERS: Decoder[] = [
  ...(existsSync(TINY_PATH)
    ? [{ name: "the tiny_llama fixture", model: () => readFileSync(TINY_PATH), ...TINY }]
    : []),
  {
    // Hugging Face's repeat_kv as PyTorch exports it: expand/reshape to the cache's own shape.
    name: "tiny_llama with head-repeat shapes computed from the cache",
    model: () => buildTinyLlamaModel(createTinyLlamaWeights(40), { shapesFromCache: true }),
    ...TINY,
  },
  ...(existsSync(STORIES_PATH)
    ? [
        {
          name: "stories260k",
          model: () => readFileSync(STORIES_PATH),
          ...{ layers: 5, kvHeads: 4, headDim: 8, vocab: 512 },
        },
      ]
    : []),
];

const open = (bytes: Uint8Array) => ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });

/**
 * A batch of 2 rows with `past` cached slots and `fresh` new ones (1: a decode step,
 * which the rewrite computes another way); row 1's first past slot is padding (as the
 * engine's spare slot is at prefill). Past values are arbitrary numbers: both graphs
 * must do the same maths with them.
 */
function feeds(
  session: ort.InferenceSession,
  past: number,
  fresh: number,
): Record<string, ort.Tensor> {
  const [rows, total] = [2, past + fresh];
  const meta = session.inputMetadata.find((m) => m.name === "past_key_values.0.key");
  const dims = meta?.isTensor ? meta.shape : [];
  const [heads, dim] = [Number(dims[1]), Number(dims[3])];
  const out: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor(
      "int64",
      BigInt64Array.from({ length: rows * fresh }, (_, j) => BigInt(3 + j)),
      [rows, fresh],
    ),
    attention_mask: new ort.Tensor(
      "int64",
      BigInt64Array.from({ length: rows * total }, (_, j) => (j === total ? 0n : 1n)),
      [rows, total],
    ),
    position_ids: new ort.Tensor(
      "int64",
      BigInt64Array.from({ length: rows * fresh }, (_, j) =>
        BigInt(past + (j % fresh) - Math.floor(j / fresh)),
      ),
      [rows, fresh],
    ),
  };
  for (const m of session.inputMetadata) {
    if (!m.name.startsWith("past_key_values.")) continue;
    const size = rows * heads * past * dim;
    const data = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37 + m.name.length));
    out[m.name] = new ort.Tensor("float32", data, [rows, heads, past, dim]);
  }
  return out;
}

describe.each(DECODERS)("rewriteForAppendKv on $name", (decoder) => {
  it("computes the export's last-position logits and outputs just the new slots as present.*", async () => {
    const model = decoder.model();
    const bytes = rewriteForAppendKv(model)?.bytes;
    if (bytes === undefined) throw new Error("the rewrite did not apply");
    const [original, rewritten] = [await open(model), await open(bytes)];
    // The engine never feeds a rewritten graph an empty past (KvCache.empty), so 1 is the least.
    for (const [past, n] of [
      [1, 2],
      [5, 2],
      [5, 1],
    ] as const) {
      const want = await original.run(feeds(original, past, n));
      const got = await rewritten.run(feeds(original, past, n));
      const full = want.logits as ort.Tensor;
      const [rows = 0, , vocab = 0] = full.dims;
      expect(got.logits?.dims).toEqual([rows, 1, vocab]);
      // Each row's last position: the engine samples from nothing else.
      const last: number[] = [];
      for (let r = 0; r < rows; r++) {
        const from = ((r + 1) * n - 1) * vocab;
        last.push(...(full.data as Float32Array).subarray(from, from + vocab));
      }
      // Float noise only: the split sums add in another order (logits here reach about 10).
      expect(maxAbsDiff(got.logits?.data as Float32Array, last)).toBeLessThan(1e-4);
      for (let i = 0; i < decoder.layers; i++) {
        for (const kind of ["key", "value"]) {
          const full = want[`present.${i}.${kind}`] as ort.Tensor;
          const fresh = got[`present.${i}.${kind}`] as ort.Tensor;
          const [rows, heads, total, dim] = full.dims as number[];
          expect(fresh.dims).toEqual([rows, heads, n, dim]);
          // Row r, head h: the original's last n of `total` slots.
          const tail: number[] = [];
          for (let rh = 0; rh < (rows ?? 0) * (heads ?? 0); rh++) {
            const from = (rh * (total ?? 0) + (total ?? 0) - n) * (dim ?? 0);
            tail.push(...(full.data as Float32Array).subarray(from, from + n * (dim ?? 0)));
          }
          expect(maxAbsDiff(fresh.data as Float32Array, tail)).toBeLessThan(1e-5);
        }
      }
    }
    await Promise.all([original.release(), rewritten.release()]);
  });

  it("passes the load-time check, which refuses a graph whose logits differ by 1e-3", async () => {
    const model = decoder.model();
    const bytes = rewriteForAppendKv(model)?.bytes ?? new Uint8Array();
    const original = await createInProcessSession(decoder.name, {}, model);
    const rewritten = await createInProcessSession(decoder.name, {}, bytes);
    const logits = original.outputs.find((o) => o.name === "logits");
    const sig: DecoderSignature = {
      numLayers: decoder.layers,
      numKvHeads: decoder.kvHeads,
      headDim: decoder.headDim,
      vocabSize: decoder.vocab || (logits?.dims[2] ?? 0),
      hasPositionIds: true,
      kvCache: "concat",
    };
    expect(sig.vocabSize).toBeGreaterThan(0);
    expect(await appendKvMatches(original, rewritten, sig)).toBe(true);
    const skewed = {
      async run(f: Record<string, HostTensor>) {
        const out = await rewritten.run(f);
        const data = Float32Array.from(out.logits?.data as Float32Array);
        data[7] = (data[7] ?? 0) + 1e-3;
        return {
          ...out,
          logits: { dtype: "float32" as const, dims: out.logits?.dims ?? [], data },
        };
      },
    };
    expect(await appendKvMatches(original, skewed, sig)).toBe(false);
    // The export itself is not an append graph: its present.* hold past + new slots.
    expect(await appendKvMatches(original, original, sig)).toBe(false);
    await Promise.all([original.release(), rewritten.release()]);
  });
});

describe("rewriteForAppendKv on graphs it must leave alone", () => {
  it("returns undefined for a model without past_key_values", () => {
    const iris = readFileSync(join(FIXTURE_REPO, "iris/1/model.onnx"));
    expect(rewriteForAppendKv(iris)).toBeUndefined();
  });

  /** One attention layer over a grown cache; `readCache` adds Shape(present.0.key) as an output. */
  function oneLayer(readCache: boolean): Uint8Array {
    const g = createGraphBuilder("one_layer");
    for (const kind of ["key", "value"]) {
      g.input(`past_key_values.0.${kind}`, "float32", [1, 1, "past", 2]);
      g.input(`new_${kind}`, "float32", [1, 1, 1, 2]);
      g.node("Concat", [`past_key_values.0.${kind}`, `new_${kind}`], [`present.0.${kind}`], {
        axis: 2,
      });
    }
    g.input("query", "float32", [1, 1, 1, 2]);
    g.node("Transpose", ["present.0.key"], ["kt"], { perm: [0, 1, 3, 2] });
    g.node("MatMul", ["query", "kt"], ["scores"]);
    g.node("Softmax", ["scores"], ["probs"], { axis: -1 });
    g.node("MatMul", ["probs", "present.0.value"], ["context"]);
    g.output("context", "float32", [1, 1, 1, 2]);
    g.output("present.0.key", "float32", [1, 1, "total", 2]);
    g.output("present.0.value", "float32", [1, 1, "total", 2]);
    if (readCache) {
      g.node("Shape", ["present.0.key"], ["cache_shape"]);
      g.output("cache_shape", "int64", [4]);
    }
    return g.toBytes(17);
  }

  it("rewrites one attention layer, but not when something else reads the grown cache", async () => {
    const bytes = rewriteForAppendKv(oneLayer(false))?.bytes;
    if (bytes === undefined) throw new Error("the rewrite did not apply");
    const t = (data: number[], past: number) =>
      new ort.Tensor("float32", Float32Array.from(data), [1, 1, past, 2]);
    const feeds = {
      "past_key_values.0.key": t([1, 0, 0, 1, 2, 2], 3),
      "past_key_values.0.value": t([1, 2, 3, 4, 5, 6], 3),
      new_key: t([-1, 3], 1),
      new_value: t([7, 8], 1),
      query: t([0.5, -0.25], 1),
    };
    const [want, got] = [
      await (await open(oneLayer(false))).run(feeds),
      await (await open(bytes)).run(feeds),
    ];
    expect(
      maxAbsDiff(got.context?.data as Float32Array, want.context?.data as Float32Array),
    ).toBeLessThan(1e-6);
    // present.* now hold only the new slot.
    expect(Array.from(got["present.0.key"]?.data as Float32Array)).toEqual([-1, 3]);
    expect(Array.from(want["present.0.key"]?.data as Float32Array)).toHaveLength(8);
    // Shape(present) would now see only the new slot.
    expect(rewriteForAppendKv(oneLayer(true))).toBeUndefined();
  });
});
