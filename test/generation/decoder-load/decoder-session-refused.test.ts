import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { afterAll, describe, expect, it } from "vitest";
import { openDecoderSession } from "../../../src/generation/decoder-load/decoder-session.js";
import {
  type DecoderSignature,
  readDecoderSignature,
} from "../../../src/generation/engine/decoder-signature.js";
import { type DecoderRunner, runDecoderStep } from "../../../src/generation/engine/decoder-step.js";
import { KvCache } from "../../../src/generation/engine/kv-cache.js";
import { rewriteForAppendKv } from "../../../src/generation/kv-rewrite/append-kv-rewrite.js";
import { loadGenerationConfig } from "../../../src/generation/request/generation-config.js";
import { quantizeModel } from "../../../src/onnx/quantize/quantize-model.js";
import { createInProcessSession } from "../../../src/runtime/in-process-session.js";
import { FIXTURE_REPO } from "../../helpers/fixtures.js";

const { onnx } = onnxProto;
const DIR = join(FIXTURE_REPO, "tiny_llama/1");
const OPTIONS = { intraOpThreads: 1 };
const REFUSED = "the rewritten graph does not compute what the export computes";

/**
 * tiny_llama with layer 0's keys scaled by their slot's position (1..T) between the
 * cache Concat and the attention MatMul: a slot-wise Mul the rewrite's pattern accepts,
 * whose scale it recomputes from each part's own length, so the new slots get 1..S
 * instead of P+1..P+S and the numbers part from the export's.
 */
function withPerSlotKeyScale(model: Uint8Array): Uint8Array {
  const proto = onnx.ModelProto.decode(model);
  const graph = proto.graph ?? onnx.GraphProto.create();
  const nodes = graph.node ?? [];
  const at = nodes.findIndex((n) => n.opType === "Transpose" && n.input?.[0] === "l0_key_rep");
  if (at < 0) throw new Error("tiny_llama's layer 0 key Transpose not found");
  const { INT, TENSOR } = onnx.AttributeProto.AttributeType;
  const node = (
    opType: string,
    input: string[],
    output: string,
    attribute: onnxProto.onnx.IAttributeProto[] = [],
  ) => onnx.NodeProto.create({ opType, input, output: [output], attribute });
  const scaled = [
    node("Shape", ["present.0.key"], "slot_shape", [
      { name: "start", type: INT, i: 2 }, // the slot axis alone: [T]
      { name: "end", type: INT, i: 3 },
    ]),
    node("ConstantOfShape", ["slot_shape"], "slot_ones", [
      { name: "value", type: TENSOR, t: { dataType: 1, dims: [1], floatData: [1] } },
    ]),
    node("CumSum", ["slot_ones", "c_zero"], "slot_positions"), // 1..T
    node("Unsqueeze", ["slot_positions", "axes_1"], "slot_scale"), // [T, 1]
    node("Mul", ["l0_key_rep", "slot_scale"], "l0_key_scaled"),
  ];
  const transpose = nodes[at];
  if (transpose?.input) transpose.input[0] = "l0_key_scaled";
  graph.node = [...nodes.slice(0, at), ...scaled, ...nodes.slice(at)];
  return onnx.ModelProto.encode(proto).finish();
}

/** Logits of a 2-token prompt and of one decode step after it. */
async function twoSteps(runner: DecoderRunner, signature: DecoderSignature) {
  const prefill = await runDecoderStep(runner, KvCache.empty(signature, 1), [[1, 7]]);
  const first = Float32Array.from(prefill.logits[0] ?? []);
  const decode = await runDecoderStep(runner, prefill.cache, [[9]]);
  return [first, Float32Array.from(decode.logits[0] ?? [])];
}

describe("openDecoderSession when the rewrite fails the numeric check", () => {
  const temp = mkdtempSync(join(tmpdir(), "inferd-decoder-refused-"));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));
  const broken = withPerSlotKeyScale(readFileSync(join(DIR, "model.onnx")));

  it.each([
    ["float32", broken, REFUSED],
    [
      "int4 at accuracy_level 4",
      quantizeModel(broken, { method: "int4", accuracyLevel: 4 }).bytes,
      `${REFUSED} (both checked with MatMulNBits at accuracy_level 0)`,
    ],
  ])(
    "serves the %s export as exported, says why, and leaves no file behind",
    async (name, bytes, note) => {
      expect(rewriteForAppendKv(bytes)).toBeDefined(); // the pattern matches: only the numbers refuse it
      const dir = join(temp, name.replace(/\W+/g, "-"));
      mkdirSync(dir);
      const path = join(dir, "model.onnx");
      writeFileSync(path, bytes);
      const config = await loadGenerationConfig(DIR);
      const served = await openDecoderSession(path, OPTIONS, config, "append");
      expect({ kvCache: served.signature.kvCache, note: served.kvCacheNote }).toEqual({
        kvCache: "concat",
        note,
      });
      const got = await twoSteps(served.session, served.signature).finally(() =>
        served.session.release(),
      );
      const own = await createInProcessSession(path, OPTIONS);
      const signature = readDecoderSignature(own.inputs, own.outputs, config);
      const want = await twoSteps(own, signature).finally(() => own.release());
      expect(got).toEqual(want);
      expect(readdirSync(dir)).toEqual(["model.onnx"]);
    },
  );
});
