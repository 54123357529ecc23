/**
 * Closed-loop load generator, run as its own process so that the server under test
 * does not share its event loop: `concurrency` workers each send unary Predict calls
 * over gRPC (grpc-js, h2c) back to back for `durationMs`, after a warm-up.
 * Prints one JSON line: {calls, errors, seconds, callsPerSecond, rowsPerSecond, p50Ms, p99Ms}.
 *
 *   tsx bench/grpc-load.ts --target 127.0.0.1:8080 --request '<PredictRequest JSON>' \
 *     --concurrency 64 --duration-ms 5000 [--rows 1] [--channels 4]
 *
 * Each channel is its own HTTP/2 connection (a local subchannel pool: grpc-js would
 * otherwise share one connection among clients with the same target and options);
 * workers are spread over channels round-robin.
 */
import { parseArgs } from "node:util";
import { create, fromBinary, fromJson, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  PredictRequestSchema,
  type PredictResponse,
  PredictResponseSchema,
} from "../gen/inferd/v1/inference_pb.js";

const { values } = parseArgs({
  options: {
    target: { type: "string" },
    request: { type: "string" },
    concurrency: { type: "string", default: "1" },
    "duration-ms": { type: "string", default: "5000" },
    "warmup-ms": { type: "string", default: "1000" },
    rows: { type: "string", default: "1" },
    channels: { type: "string", default: "1" },
  },
});

const target = values.target ?? "127.0.0.1:8080";
const request = fromJson(PredictRequestSchema, JSON.parse(values.request ?? "{}"));
const body = Buffer.from(toBinary(PredictRequestSchema, create(PredictRequestSchema, request)));
const concurrency = Number(values.concurrency);
const channelCount = Number(values.channels);
const clients = Array.from(
  { length: channelCount },
  () =>
    new grpc.Client(target, grpc.credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
    }),
);
let firstError: string | undefined;

function call(client: grpc.Client): Promise<PredictResponse> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      "/inferd.v1.InferenceService/Predict",
      (b: Buffer) => b,
      (b: Buffer) => fromBinary(PredictResponseSchema, b),
      body,
      (err, res) => (err || !res ? reject(err) : resolve(res)),
    );
  });
}

async function loop(client: grpc.Client, until: number, latencies: number[] | undefined) {
  let errors = 0;
  while (performance.now() < until) {
    const t0 = performance.now();
    try {
      await call(client);
      latencies?.push(performance.now() - t0);
    } catch (error) {
      firstError ??= error instanceof Error ? error.message : String(error);
      errors++;
    }
  }
  return errors;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function main() {
  const pick = (i: number) => clients[i % clients.length] as grpc.Client;
  const warmEnd = performance.now() + Number(values["warmup-ms"]);
  await Promise.all(
    Array.from({ length: concurrency }, (_, i) => loop(pick(i), warmEnd, undefined)),
  );
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + Number(values["duration-ms"]);
  const errs = await Promise.all(
    Array.from({ length: concurrency }, (_, i) => loop(pick(i), end, latencies)),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const calls = latencies.length;
  process.stdout.write(
    `${JSON.stringify({
      calls,
      errors: errs.reduce((a, b) => a + b, 0),
      seconds,
      callsPerSecond: calls / seconds,
      rowsPerSecond: (calls * Number(values.rows)) / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      ...(firstError !== undefined && { firstError }),
    })}\n`,
  );
  for (const c of clients) c.close();
}

await main();
