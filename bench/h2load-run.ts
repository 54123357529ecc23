import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fromJson, toBinary } from "@bufbuild/protobuf";
import { PredictRequestSchema } from "../gen/inferd/v1/inference_pb.js";
import { type LoadResult, type LoadRunOptions, predictRequestJson } from "./load-run.js";

const exec = promisify(execFile);

/** True when nghttp2's `h2load` is on PATH. */
export async function hasH2load(): Promise<boolean> {
  return exec("h2load", ["--version"]).then(
    () => true,
    () => false,
  );
}

/** A gRPC length-prefixed message: flag byte 0, big-endian length, protobuf bytes. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** One h2load closed loop: the request every stream repeats and how many run at once. */
export interface H2loadRequest {
  readonly target: string;
  readonly path: string;
  readonly headers: readonly string[];
  readonly body: Uint8Array | string;
  readonly concurrency: number;
  /** Connections; with `h1`, ignored: HTTP/1.1 gets one connection per concurrent call. */
  readonly channels: number;
  /** HTTP/1.1 (`--h1`, no pipelining) instead of h2c. */
  readonly h1?: boolean;
  readonly durationMs: number;
  readonly warmupMs: number;
}

/**
 * Runs the same closed loop with h2load (C, nghttp2) instead of grpc-js: raw gRPC
 * over h2c, `channels` connections with concurrency/channels streams each. It costs
 * the machine far less CPU per call than grpc-js, which matters on 2 cores shared
 * with the server. h2load sees only HTTP status 200, never grpc-status: the caller
 * must count gRPC errors elsewhere (the bench reads the server's /metrics).
 */
export async function runH2load(options: LoadRunOptions): Promise<LoadResult> {
  const request = fromJson(PredictRequestSchema, JSON.parse(predictRequestJson(options.model)));
  return runH2loadRequest({
    ...options,
    path: "/inferd.v1.InferenceService/Predict",
    headers: ["content-type: application/grpc", "te: trailers"],
    body: grpcFrame(toBinary(PredictRequestSchema, request)),
  });
}

/**
 * Any closed loop of one repeated POST with h2load: over h2c, `channels` connections
 * with concurrency/channels streams each; over HTTP/1.1, `concurrency` connections
 * with one call in flight each. Latencies of answers other than 200 are left out;
 * 4xx/5xx answers count as errors (h2load's "failed").
 */
export async function runH2loadRequest(options: H2loadRequest): Promise<LoadResult> {
  const dir = await mkdtemp(join(tmpdir(), "inferd-h2load-"));
  try {
    const body = join(dir, "body.bin");
    const log = join(dir, "requests.tsv");
    await writeFile(body, options.body);
    const clients = options.h1
      ? options.concurrency
      : Math.max(1, Math.min(options.concurrency, options.channels));
    const { stdout } = await exec("h2load", [
      ...["-D", `${options.durationMs}ms`, "--warm-up-time", `${options.warmupMs}ms`],
      ...["-c", String(clients), "-m", String(Math.ceil(options.concurrency / clients))],
      ...["-d", body, "--log-file", log, ...(options.h1 ? ["--h1"] : [])],
      ...options.headers.flatMap((header) => ["-H", header]),
      `http://${options.target}${options.path}`,
    ]);
    return parseH2load(stdout, await readFile(log, "utf8"), options.durationMs / 1000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function parseH2load(stdout: string, log: string, seconds: number): LoadResult {
  const counts = /requests: (\d+) total.*?(\d+) succeeded, (\d+) failed/.exec(stdout);
  if (!counts) throw new Error(`cannot parse h2load output:\n${stdout}`);
  const latencies: number[] = [];
  for (const line of log.split("\n")) {
    const [, status, micros] = line.split("\t");
    // Answers of 4xx/5xx are already in h2load's "failed" count.
    if (status === "200" && micros !== undefined) latencies.push(Number(micros) / 1000);
  }
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
  const calls = latencies.length;
  return {
    calls,
    // "errored" streams are the ones still in flight when the time is up (reset).
    errors: Number(counts[3]),
    seconds,
    callsPerSecond: calls / seconds,
    rowsPerSecond: calls / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}
