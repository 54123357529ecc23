import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PredictRequestSchema } from "../../gen/inferd/v1/inference_pb.js";
import { DataType } from "../../gen/inferd/v1/tensor_pb.js";
import { useInferd } from "../helpers/use-inferd.js";

const inferd = useInferd();
const PREDICT = "/inferd.v1.InferenceService/Predict";
const ROWS = 25_000;
const floatData = Array.from({ length: ROWS * 4 }, (_, i) => ((i * 37) % 80) / 10);
const features = { dtype: DataType.FLOAT32, shape: [ROWS, 4], floatData };

/** The answer's bytes; a gzipped request body takes connect-node's path, a plain one the lean path. */
async function answer(body: Uint8Array, type: string, gzip: boolean): Promise<Buffer> {
  const res = await fetch(`${inferd.baseUrl}${PREDICT}`, {
    method: "POST",
    headers: { "content-type": type, ...(gzip && { "content-encoding": "gzip" }) },
    body: gzip ? gzipSync(body) : body,
  });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

// A 25,000-row answer is over BIG_ANSWER_VALUES: the lean path has the codec worker build
// and encode it, connect-node encodes the same message on the loop.
describe("a big Predict answer", () => {
  it("is the same JSON on the lean path as on connect-node's", async () => {
    const json = JSON.stringify({
      model: "iris",
      requestId: "big",
      topK: 2,
      inputs: { features: { ...features, dtype: "DATA_TYPE_FLOAT32" } },
    });
    const body = new TextEncoder().encode(json);
    const lean = await answer(body, "application/json", false);
    expect(lean.equals(await answer(body, "application/json", true))).toBe(true);
    const parsed = JSON.parse(lean.toString());
    expect(parsed.classifications).toHaveLength(ROWS);
    expect(parsed.outputs.probabilities.shape).toEqual([ROWS, 3]);
  });

  it("is the same binary, raw or not, on the lean path as on connect-node's", async () => {
    for (const rawOutputs of [false, true]) {
      const request = create(PredictRequestSchema, {
        model: "iris",
        requestId: "big",
        rawOutputs,
        inputs: { features },
      });
      const body = toBinary(PredictRequestSchema, request);
      const lean = await answer(body, "application/proto", false);
      expect(lean.byteLength).toBeGreaterThan(ROWS * 12);
      expect(lean.equals(await answer(body, "application/proto", true))).toBe(true);
    }
  });
});
