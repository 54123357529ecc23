import { fromJson, toBinary, toJsonString } from "@bufbuild/protobuf";
import { PredictRequestSchema } from "../gen/inferd/v1/inference_pb.js";
import { grpcFrame, runH2loadRequest } from "./h2load-run.js";
import { type LoadResult, type LoadRunOptions, predictRequestJson } from "./load-run.js";

/** A unary Predict protocol over HTTP/1.1 the peers bench drives with h2load `--h1`. */
export type Http1Protocol = "connect-json" | "grpc-web";

/** One HTTP/1.1 request as h2load repeats it: path, headers and body bytes. */
export interface Http1Request {
  readonly path: string;
  readonly headers: readonly string[];
  readonly body: Uint8Array | string;
}

const PREDICT = "/inferd.v1.InferenceService/Predict";

/**
 * The request a Connect client sends for a one-row Predict of `options.model`: the
 * Connect JSON of the PredictRequest (what `@connectrpc/connect-web` with
 * `useBinaryFormat: false` posts), or gRPC-Web binary (the 5-byte-framed protobuf
 * and the headers of a gRPC-Web client). The naive node:http server takes the same
 * Connect JSON body.
 */
export function http1Request(protocol: Http1Protocol, options: LoadRunOptions): Http1Request {
  const request = fromJson(PredictRequestSchema, JSON.parse(predictRequestJson(options.model)));
  if (protocol === "connect-json") {
    return {
      path: PREDICT,
      headers: ["content-type: application/json", "connect-protocol-version: 1"],
      body: toJsonString(PredictRequestSchema, request),
    };
  }
  return {
    path: PREDICT,
    headers: ["content-type: application/grpc-web+proto", "x-grpc-web: 1"],
    body: grpcFrame(toBinary(PredictRequestSchema, request)),
  };
}

/**
 * Closed-loop unary Predict over HTTP/1.1 with h2load `--h1`: `concurrency`
 * connections, one call in flight on each (no pipelining), the same load generator
 * as the gRPC runs. h2load counts non-200 answers as errors; a gRPC-Web error
 * arrives with status 200, so the caller also reads the server's /metrics.
 */
export function runHttp1Load(
  protocol: Http1Protocol,
  options: LoadRunOptions,
): Promise<LoadResult> {
  return runH2loadRequest({ ...options, ...http1Request(protocol, options), h1: true });
}
