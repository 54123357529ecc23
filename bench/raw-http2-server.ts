/**
 * The floor under every HTTP/2 gRPC server on Node: `node:http2` alone answering each
 * stream with the same fixed gRPC response (HEADERS, one DATA frame, trailers),
 * after reading its request body, with no decoding, no framework and no model. No
 * gRPC server on Node (grpc-js, connect-node, inferd) can spend less per call than
 * this: it is what `bench/cpu-per-call.ts` calls "raw node:http2", the measure of how
 * much of a call's CPU is Node's HTTP/2 itself.
 *
 *   node --import tsx bench/raw-http2-server.ts --port 8083
 */
import http2 from "node:http2";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { PredictResponseSchema } from "../gen/inferd/v1/inference_pb.js";
import { DataType } from "../gen/inferd/v1/tensor_pb.js";

const { values } = parseArgs({ options: { port: { type: "string", default: "8083" } } });
const message = toBinary(
  PredictResponseSchema,
  create(PredictResponseSchema, {
    model: "mlp_small",
    version: 1,
    outputs: {
      logits: { dtype: DataType.FLOAT32, shape: [1, 10], floatData: new Array(10).fill(0.5) },
    },
  }),
);
const frame = Buffer.alloc(5 + message.length);
frame.writeUInt32BE(message.length, 1);
frame.set(message, 5);

const server = http2.createServer();
server.on("stream", (stream) => {
  stream.on("data", () => {});
  stream.on("end", () => {
    stream.respond(
      { ":status": 200, "content-type": "application/grpc" },
      { waitForTrailers: true },
    );
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(frame);
  });
});
server.listen(Number(values.port), "127.0.0.1", () => process.stdout.write("ready\n"));
