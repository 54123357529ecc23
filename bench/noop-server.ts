/**
 * The transport floor: a Predict that answers a fixed two-output response without
 * decoding tensors, validating, queueing or running anything, behind inferd's one-port
 * listener (h2c and HTTP/1.1 on one port). By default unary gRPC takes inferd's lean
 * path (`createGrpcUnaryPath`) in front of the Connect adapter, exactly as inferd mounts
 * them; `--connect-only` leaves every call to connect-node. Its calls/s are the most any
 * unary Predict can reach through that stack on this machine, whatever the model costs.
 *
 *   node --import tsx bench/noop-server.ts --port 8081 [--connect-only]
 */
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  InferenceService,
  type PredictRequest,
  PredictResponseSchema,
} from "../gen/inferd/v1/inference_pb.js";
import { DataType } from "../gen/inferd/v1/tensor_pb.js";
import { createGrpcUnaryPath } from "../src/lean-path/grpc-unary-path.js";
import { createUnaryMethodTable } from "../src/lean-path/unary-method-table.js";
import { createOnePortListener } from "../src/listener/one-port-listener.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8081" },
    "connect-only": { type: "boolean", default: false },
  },
});

const response = (request: PredictRequest) =>
  create(PredictResponseSchema, {
    model: request.model,
    version: 1,
    requestId: "noop",
    outputs: {
      probabilities: { dtype: DataType.FLOAT32, shape: [1, 3], floatData: [0.1, 0.2, 0.7] },
      label: { dtype: DataType.INT64, shape: [1], int64Data: [2n] },
    },
    classifications: [{ top: [{ label: "virginica", score: 0.7 }] }],
  });

const table = createUnaryMethodTable();
const connect = connectNodeAdapter({
  routes: (router: ConnectRouter) =>
    table
      .recording(router)
      .service(InferenceService, { predict: async (request) => response(request) }),
});
const claimStream = values["connect-only"]
  ? undefined
  : createGrpcUnaryPath({
      methods: table.methods,
      interceptors: [],
      readMaxBytes: 4 * 1024 * 1024,
      shutdownSignal: new AbortController().signal,
    });

const listener = createOnePortListener({
  handler: (req, res) => {
    if (req.url === "/readyz") res.end("ready");
    else connect(req, res);
  },
  ...(claimStream && { claimStream }),
});
await listener.listen(Number(values.port), "127.0.0.1");
