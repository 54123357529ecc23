/**
 * `npx tsx bench/observe-call-cpu.ts [calls] [rounds]` (defaults 200000, 5; run compiled: `node dist/bench/observe-call-cpu.js >/dev/null`): the main-thread
 * CPU time one unary call spends in inferd's observing interceptor (tracing with no SDK,
 * metrics, access log to stdout), as the server composes it, around a fake `next`
 * that answers at once, on 64 requests reused in turn. CPU time (`process.cpuUsage`), not wall time: the machine is
 * shared. Each round runs the bare `next` and the interceptor in turn; the figure is
 * the median over rounds of (interceptor - bare) per call.
 */
import { create } from "@bufbuild/protobuf";
import { createContextValues, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import {
  InferenceService,
  PredictRequestSchema,
  PredictResponseSchema,
} from "../gen/inferd/v1/inference_pb.js";
import { accessLogCallHook } from "../src/interceptors/logging-interceptor.js";
import { metricsCallHook } from "../src/interceptors/metrics-interceptor.js";
import { createObservingInterceptor } from "../src/interceptors/observe-call.js";
import { tracingCallHook } from "../src/interceptors/tracing-interceptor.js";
import { createLogger } from "../src/logging/logger.js";
import { createInferdMetrics } from "../src/metrics/inferd-metrics.js";
import { withNodeRequest } from "../src/observed-call/observed-requests.js";
import { peerAddressKey } from "../src/observed-call/peer-context.js";

const [calls = 200_000, rounds = 5] = process.argv.slice(2, 4).map(Number);
const method = InferenceService.method.predict;
const message = create(PredictRequestSchema, { model: "mlp_small", requestId: "r-1" });
const response: UnaryResponse = {
  stream: false,
  service: InferenceService,
  method,
  header: new Headers(),
  trailer: new Headers(),
  message: create(PredictResponseSchema, { model: "mlp_small", version: 1 }),
};
// The process logger on stdout, as inferd runs: send stdout to /dev/null (figures go to stderr).
const logger = createLogger({ level: "info" });
const interceptor = createObservingInterceptor(
  tracingCallHook(),
  metricsCallHook(createInferdMetrics({ collectDefault: false })),
  accessLogCallHook(logger),
);
const next = async (_req: UnaryRequest) => response;
const observed = interceptor(next as never) as typeof next;

/** A request as the lean gRPC path builds it: web headers, a signal, peer and node request in its values. */
function request(): UnaryRequest {
  const header = new Headers();
  header.append("content-type", "application/grpc");
  header.append("te", "trailers");
  header.append("user-agent", "h2load nghttp2/1.59.0");
  header.append("grpc-timeout", "10S");
  return {
    stream: false,
    service: InferenceService,
    method,
    requestMethod: "POST",
    url: "http://127.0.0.1/inferd.v1.InferenceService/Predict",
    signal: new AbortController().signal,
    header,
    contextValues: withNodeRequest(createContextValues().set(peerAddressKey, "127.0.0.1"), {}),
    message,
  };
}

// Reused, so that the figures hold the interceptor's work, not the requests' making.
const requests = Array.from({ length: 64 }, request);

async function cpuPerCall(run: typeof next): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) {
    await run(requests[i % 64] as UnaryRequest);
    // Let the logger's asynchronous writes go out, as the event loop does between calls.
    if (i % 64 === 63) await new Promise(setImmediate);
  }
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / calls; // ns per call
}

const deltas: number[] = [];
for (let round = 0; round <= rounds; round++) {
  const bare = await cpuPerCall(next);
  const withInterceptor = await cpuPerCall(observed);
  if (round === 0) continue; // warm-up
  deltas.push(withInterceptor - bare);
  console.error(
    `round ${round}: bare ${bare.toFixed(0)} ns, observed ${withInterceptor.toFixed(0)} ns`,
  );
}
deltas.sort((a, b) => a - b);
console.error(
  `interceptor CPU per call: median ${deltas[Math.floor(deltas.length / 2)]?.toFixed(0)} ns`,
);
