/**
 * Worker-thread client for tests that measure the server's event loop under the largest
 * requests it accepts: building, sending and reading them (megabytes of protobuf and
 * JSON) happens in this thread's isolate, not on the loop being measured. Protocol:
 * workerData {@link BigRequestPlan}; posts "ready" once the bodies are built, waits for
 * "start", sends every request at once, then posts a {@link BigRequestResult}.
 */
import { request as httpRequest } from "node:http";
import { parentPort, workerData } from "node:worker_threads";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { BatchPredictRequestSchema } from "../../gen/inferd/v1/inference_pb.js";
import { DataType } from "../../gen/inferd/v1/tensor_pb.js";

export interface BigRequestPlan {
  /** 127.0.0.1 port of the server. */
  readonly port: number;
  /** Items of the gRPC BatchPredict (one iris row each); 0 sends none. */
  readonly batchItems: number;
  /** Rows of the Connect JSON Predict on iris; 0 sends none. */
  readonly jsonRows: number;
  /** The model the JSON Predict names (default "iris"). */
  readonly jsonModel?: string;
}

export interface BigRequestResult {
  /** Per request: "grpc <status code> <message start>" or "json <HTTP status> <bytes> B <body start>". */
  readonly outcomes: string[];
  readonly batchBytes: number;
  readonly jsonBytes: number;
}

const plan = workerData as BigRequestPlan;

function batchBody(items: number): Buffer {
  const row = { dtype: DataType.FLOAT32, shape: [1, 4], floatData: [5.1, 3.5, 1.4, 0.2] };
  const requests = Array.from({ length: items }, () => ({
    model: "iris",
    inputs: { features: row },
  }));
  return Buffer.from(
    toBinary(BatchPredictRequestSchema, create(BatchPredictRequestSchema, { requests })),
  );
}

/** A Connect JSON Predict body of `rows` iris rows, written as a client would (short floats). */
function jsonBody(rows: number, model = "iris"): Buffer {
  const values = Array.from({ length: rows }, () => "5.1,3.5,1.4,0.2").join(",");
  return Buffer.from(
    `{"model":"${model}","inputs":{"features":{"dtype":"DATA_TYPE_FLOAT32","shape":[${rows},4],"floatData":[${values}]}}}`,
  );
}

const batch = plan.batchItems > 0 ? batchBody(plan.batchItems) : undefined;
const json = plan.jsonRows > 0 ? jsonBody(plan.jsonRows, plan.jsonModel) : undefined;

function sendBatch(body: Buffer): Promise<string> {
  const client = new grpc.Client(`127.0.0.1:${plan.port}`, grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": -1,
    "grpc.max_receive_message_length": -1,
  });
  return new Promise<string>((resolve) =>
    client.makeUnaryRequest(
      "/inferd.v1.InferenceService/BatchPredict",
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      (error) => {
        client.close();
        resolve(error ? `grpc ${error.code} ${error.details.slice(0, 200)}` : "grpc 0");
      },
    ),
  );
}

function sendJson(body: Buffer): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port: plan.port,
        method: "POST",
        path: "/inferd.v1.InferenceService/Predict",
        headers: { "content-type": "application/json", "content-length": body.byteLength },
      },
      (res) => {
        // The answer to a million rows is ~130 MB: keep its start and count the rest.
        let head = "";
        let bytes = 0;
        res.on("data", (c: Buffer) => {
          if (head.length < 200) head += c.subarray(0, 200).toString();
          bytes += c.byteLength;
        });
        res.on("end", () => resolve(`json ${res.statusCode} ${bytes} B ${head.slice(0, 200)}`));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

// A warm-up call of each kind first: the measure is of a warm server's steady state,
// not of the first call's compilation of the codecs.
await Promise.all([sendBatch(batchBody(64)), sendJson(jsonBody(64))]);
parentPort?.once("message", () => {
  const calls = [batch && sendBatch(batch), json && sendJson(json)].filter((c) => c !== undefined);
  void Promise.all(calls).then((outcomes) => {
    const result: BigRequestResult = {
      outcomes,
      batchBytes: batch?.byteLength ?? 0,
      jsonBytes: json?.byteLength ?? 0,
    };
    parentPort?.postMessage(result);
  });
});
parentPort?.postMessage("ready");
