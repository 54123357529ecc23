/**
 * The baseline of issue 14's benchmark: the gRPC server a user would write in an
 * afternoon. `@grpc/grpc-js` with inferd's own proto loaded by `@grpc/proto-loader`
 * (the way grpc-js's examples do it), `await session.run()` inline on the main
 * thread, no batching, no validation, no logs or metrics. It serves
 * `inferd.v1.InferenceService/Predict`: float32 inputs by name in, every output as a
 * float32 tensor out, so the same request bytes work against it and against inferd.
 *
 *   node --import tsx bench/naive-grpc-server.ts --port 8082 --model model.onnx
 */
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import * as ort from "onnxruntime-node";

interface WireTensor {
  dtype: number;
  shape: number[];
  floatData: number[];
}
interface PredictRequest {
  model: string;
  inputs: Record<string, WireTensor>;
}
type Predict = grpc.handleUnaryCall<PredictRequest, unknown>;
type ServiceTree = { inferd: { v1: { InferenceService: grpc.ServiceClientConstructor } } };

const { values } = parseArgs({ options: { port: { type: "string" }, model: { type: "string" } } });
const session = await ort.InferenceSession.create(values.model ?? "model.onnx");
const definition = loadSync("inferd/v1/inference.proto", { includeDirs: ["proto"], enums: Number });
const { inferd } = grpc.loadPackageDefinition(definition) as unknown as ServiceTree;

const predict: Predict = async (call, callback) => {
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(call.request.inputs)) {
      feeds[name] = new ort.Tensor("float32", Float32Array.from(t.floatData), t.shape);
    }
    const results = await session.run(feeds);
    const outputs: Record<string, WireTensor> = {};
    for (const [name, t] of Object.entries(results)) {
      outputs[name] = {
        dtype: 1,
        shape: [...t.dims],
        floatData: Array.from(t.data as Float32Array),
      };
    }
    callback(null, { model: call.request.model, version: 1, outputs });
  } catch (error) {
    callback({ code: grpc.status.INVALID_ARGUMENT, details: (error as Error).message });
  }
};

const server = new grpc.Server();
server.addService(inferd.v1.InferenceService.service, { Predict: predict });
server.bindAsync(`127.0.0.1:${values.port}`, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) throw error;
  process.stdout.write("ready\n");
});
