/**
 * `npx tsx bench/predict-json-cpu.ts [calls] [rounds]` (defaults 100000, 5): the main-thread
 * CPU time the lean Connect path spends reading a one-row mlp_small Predict JSON body
 * (64 floats) and writing its answer (10 floats), through connect-es's serialization
 * (protobuf-es) and through `withPredictJson`, in turn each round. CPU time
 * (`process.cpuUsage`), not wall time: the machine is shared. Prints the median per call.
 */
import { create } from "@bufbuild/protobuf";
import { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import { InferenceService, PredictResponseSchema } from "../gen/inferd/v1/inference_pb.js";
import { DataType } from "../gen/inferd/v1/tensor_pb.js";
import { withPredictJson } from "../src/lean-path/predict-json-serialization.js";
import { strictUtf8Decoder } from "../src/text/strict-utf8.js";

const [calls = 100_000, rounds = 5] = process.argv.slice(2, 4).map(Number);
const method = InferenceService.method.predict;
const jsonOptions = { ignoreUnknownFields: false, textDecoder: strictUtf8Decoder };
const limits = { readMaxBytes: 4 << 20, writeMaxBytes: 0xffffffff };
const plain = createMethodSerializationLookup(method, undefined, jsonOptions, limits);
const fast = withPredictJson(plain, method, { jsonOptions, readMaxBytes: limits.readMaxBytes });
const row = Array.from({ length: 64 }, (_, i) => Math.round(Math.sin(i) * 1e4) / 1e4);
const body = Buffer.from(
  JSON.stringify({
    model: "mlp_small",
    inputs: { input: { dtype: "DATA_TYPE_FLOAT32", shape: [1, 64], floatData: row } },
  }),
);
const answer = create(PredictResponseSchema, {
  model: "mlp_small",
  version: 1,
  requestId: "0f8e6f3c-5b7e-4a51-9d8c-2b0d4c1e7a93",
  outputs: {
    output: {
      dtype: DataType.FLOAT32,
      shape: [1, 10],
      floatData: [...Float32Array.from({ length: 10 }, (_, i) => Math.cos(i) * 3)],
    },
  },
});

function cpuPerCall(run: () => unknown): number {
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) run();
  const used = process.cpuUsage(start);
  return ((used.user + used.system) / calls) * 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
const cases: Record<string, () => unknown> = {
  "parse, protobuf-es": () => plain.getI(false).parse(body),
  "parse, withPredictJson": () => fast.getI(false).parse(body),
  "serialize, protobuf-es": () => plain.getO(false).serialize(answer),
  "serialize, withPredictJson": () => fast.getO(false).serialize(answer),
};
const figures = new Map(Object.keys(cases).map((name): [string, number[]] => [name, []]));
for (const run of Object.values(cases)) cpuPerCall(run);
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of Object.entries(cases)) figures.get(name)?.push(cpuPerCall(run));
}
for (const [name, ns] of figures) {
  console.log(
    `${name}: ${(median(ns) / 1000).toFixed(2)} µs/call (${ns.map((n) => (n / 1000).toFixed(2)).join(", ")})`,
  );
}
