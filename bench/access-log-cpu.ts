/**
 * `npx tsx bench/access-log-cpu.ts [lines] [rounds] >/dev/null` (defaults 100000, 5): the
 * main-thread CPU time of one access-log line (`logRpcCall`) for an "ok" Predict, on the
 * process logger writing to stdout in its 4 KiB batches, as inferd runs (send stdout to
 * /dev/null; figures go to stderr). Also the same line on a destination that drops it
 * (the cost of building the line alone), and a client-error line (pino's generic path).
 * CPU time (`process.cpuUsage`), not wall time: the machine is shared. The figure is the
 * median over rounds, per line.
 */
import type { DestinationStream } from "pino";
import { logRpcCall } from "../src/logging/log-rpc-call.js";
import { createLogger } from "../src/logging/logger.js";
import type { RpcCall } from "../src/observed-call/rpc-call.js";
import type { RpcLabels } from "../src/observed-call/rpc-labels.js";

const [lines = 100_000, rounds = 5] = process.argv.slice(2, 4).map(Number);
const labels: RpcLabels = {
  grpc_service: "inferd.v1.InferenceService",
  grpc_method: "Predict",
  grpc_type: "unary",
  protocol: "grpc",
};
const ok: RpcCall = {
  labels,
  peer: "127.0.0.1",
  headerRequestId: undefined,
  code: "ok",
  durationMs: 0.734_512,
  fields: { model: "mlp_small", version: 1, requestId: "r-1" },
};
const clientError: RpcCall = { ...ok, code: "invalid_argument" };
const dropped: DestinationStream = { write: () => undefined };

/** CPU microseconds per line of `lines` calls of `log(call)`. */
function usPerLine(log: (call: RpcCall) => void, call: RpcCall): number {
  const before = process.cpuUsage();
  for (let i = 0; i < lines; i++) log(call);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / lines;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const cases = {
  "ok, stdout": [logRpcCall(createLogger({ level: "info" })), ok],
  "ok, dropped": [logRpcCall(createLogger({ level: "info", destination: dropped })), ok],
  "ok, below level": [logRpcCall(createLogger({ level: "warn", destination: dropped })), ok],
  "warn, stdout": [logRpcCall(createLogger({ level: "info" })), clientError],
} as const;
const figures = new Map<string, number[]>();
for (let round = 0; round < rounds; round++) {
  for (const [name, [log, call]] of Object.entries(cases)) {
    figures.set(name, [...(figures.get(name) ?? []), usPerLine(log, call)]);
  }
}
for (const [name, us] of figures) {
  process.stderr.write(
    `${name.padEnd(16)} ${median(us).toFixed(3)} us/line (rounds ${us.map((u) => u.toFixed(2)).join(" ")})\n`,
  );
}
