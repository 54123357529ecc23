/**
 * `npx tsx bench/cpu-per-call.ts [calls] [rounds] [only]` (defaults 20000, 3, all): the server's CPU
 * time per unary gRPC Predict on mlp_small, for inferd (batching on and off), inferd's
 * no-op Predict (lean gRPC path) and the naive grpc-js server, in one run.
 *
 * Why CPU per call and not calls/s: on a shared, loaded machine calls/s measures the
 * neighbours; the CPU the server burns for a fixed number of calls barely moves.
 * Each server runs as its own process; h2load (4 connections, 16 streams each: c=64)
 * sends `calls` Predicts after a warm-up, and the script reads the server's CPU time
 * from Linux's `/proc/<pid>/task/<tid>/schedstat` (nanoseconds on the CPU, per thread)
 * before and after. The main thread (tid = pid) is reported apart from the whole
 * process (main + session workers + ORT and libuv threads): the main thread is what
 * limits inferd, and the naive server runs its model on ORT's threads too.
 * Medians over `rounds` rounds; each round runs every server in turn. `only`: a
 * comma-separated list of the targets to run (on, off, noop, naive, raw: a bare
 * node:http2 server answering a fixed frame, the floor under any Node gRPC server; mi:
 * Open Inference ModelInfer with raw contents, batching on, run only when listed), to
 * compare one change quickly with the naive server as the control for the machine's load.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fromJson, toBinary, toJsonString } from "@bufbuild/protobuf";
import { PredictRequestSchema } from "../gen/inferd/v1/inference_pb.js";
import {
  type BenchModel,
  type BenchRepository,
  createBenchRepository,
} from "./bench-repository.js";
import { grpcFrame } from "./h2load-run.js";
import { predictRequestJson } from "./load-run.js";
import { modelInferRequestBytes } from "./model-infer-load.js";
import { scrapeModelCounters } from "./server-metrics.js";
import { type ServerProcess, startServerProcess } from "./server-process.js";

const exec = promisify(execFile);
const [calls = 20_000, rounds = 3] = process.argv.slice(2, 4).map(Number);
const only = (process.argv[4] ?? "on,off,noop,naive,raw").split(",");
const load = () => (loadavg()[0] ?? 0).toFixed(1);

interface Target {
  readonly key: string;
  readonly label: string;
  readonly server: ServerProcess;
  readonly model: BenchModel;
  /** The gRPC method driven (default inferd.v1 Predict). */
  readonly path?: string;
  /** An inferd process: its /metrics must show no failed call. */
  readonly inferd: boolean;
}

/** CPU nanoseconds of `pid`'s main thread, of all its threads, and by thread name, so far. */
async function cpuNs(
  pid: number,
): Promise<{ main: number; all: number; byName: Map<string, number> }> {
  const read = async (tid: string) =>
    Number((await readFile(`/proc/${pid}/task/${tid}/schedstat`, "utf8")).split(" ")[0]);
  const name = async (tid: string) =>
    (await readFile(`/proc/${pid}/task/${tid}/comm`, "utf8")).trim();
  const tids = await readdir(`/proc/${pid}/task`);
  const each = await Promise.all(
    tids.map(
      async (tid): Promise<[string, number]> => [
        await name(tid).catch(() => "?"),
        await read(tid).catch(() => 0),
      ],
    ),
  );
  const byName = new Map<string, number>();
  // Node names few threads: unnamed ones are told apart by their tid.
  for (const [i, [n, ns]] of each.entries()) byName.set(n === "node" ? `node/${tids[i]}` : n, ns);
  const all = each.reduce((sum, [, ns]) => sum + ns, 0);
  return { main: await read(String(pid)), all, byName };
}

/** `CPU_PER_CALL_THREADS=1`: each measured run also prints µs per call by thread name. */
function printThreads(label: string, before: Map<string, number>, after: Map<string, number>) {
  if (process.env.CPU_PER_CALL_THREADS !== "1") return;
  const shown = [...after]
    .map(([n, ns]): [string, number] => [n, (ns - (before.get(n) ?? 0)) / calls / 1000])
    .filter(([, us]) => us >= 0.1)
    .sort((a, b) => b[1] - a[1]);
  const text = shown.map(([n, us]) => `${n} ${us.toFixed(1)}`).join(", ");
  process.stderr.write(`  ${label} threads (µs/call): ${text}\n`);
}

/** `CPU_PER_CALL_C=1` drives one call at a time (one connection) instead of c=64. */
const lone = process.env.CPU_PER_CALL_C === "1";

/**
 * `CPU_PER_CALL_PROTOCOL=connect-json` or `grpc-web` drives that protocol over HTTP/1.1
 * (h2load `--h1`, one call in flight per connection: 64 connections at c=64) instead of
 * gRPC, with the naive node:http JSON server as the naive target.
 */
const protocol = process.env.CPU_PER_CALL_PROTOCOL ?? "grpc";
const http1 = protocol === "connect-json" || protocol === "grpc-web";
if (protocol !== "grpc" && !http1) throw new Error(`unknown protocol ${protocol}`);

/** h2load's flags for the chosen protocol and concurrency, `-d` and the URL aside. */
function loadFlags(): string[] {
  if (!http1) {
    const flags = ["-c", lone ? "1" : "4", "-m", lone ? "1" : "16"];
    return [...flags, "-H", "content-type: application/grpc", "-H", "te: trailers"];
  }
  const flags = ["--h1", "-c", lone ? "1" : "64", "-m", "1"];
  const headers =
    protocol === "connect-json"
      ? ["content-type: application/json", "connect-protocol-version: 1"]
      : ["content-type: application/grpc-web+proto", "x-grpc-web: 1"];
  return [...flags, ...headers.flatMap((h) => ["-H", h])];
}

/** `n` Predicts of one row with h2load, c=64 (or c=1); throws on any failure. */
async function drive(target: Target, n: number, body: string): Promise<void> {
  const { stdout } = await exec("h2load", [
    ...["-n", String(n), "-d", body, ...loadFlags()],
    `http://127.0.0.1:${target.server.port}${target.path ?? "/inferd.v1.InferenceService/Predict"}`,
  ]);
  const ok = /(\d+) succeeded, (\d+) failed/.exec(stdout);
  if (ok?.[1] !== String(n)) throw new Error(`${target.label}: h2load:\n${stdout}`);
}

/** Main-thread and whole-process CPU µs per call of one measured run of `calls`. */
async function measure(target: Target, body: string): Promise<[number, number]> {
  await drive(target, Math.ceil(calls / 4), body);
  const before = await cpuNs(target.server.pid);
  const counted =
    target.inferd && (await scrapeModelCounters(target.server.port, target.model.name));
  await drive(target, calls, body);
  const after = await cpuNs(target.server.pid);
  printThreads(target.label, before.byName, after.byName);
  if (counted) {
    const now = await scrapeModelCounters(target.server.port, target.model.name);
    if (now.failed !== counted.failed) throw new Error(`${target.label}: failed calls`);
  }
  return [(after.main - before.main) / calls / 1000, (after.all - before.all) / calls / 1000];
}

/** The body of one Predict of `target.model` in the driven protocol (JSON for the naive HTTP server). */
function requestBody(target: Target): Uint8Array | string {
  if (target.key === "mi") return grpcFrame(modelInferRequestBytes(target.model));
  const request = fromJson(PredictRequestSchema, JSON.parse(predictRequestJson(target.model)));
  if (protocol === "connect-json" || (http1 && target.key === "naive")) {
    return toJsonString(PredictRequestSchema, request);
  }
  return grpcFrame(toBinary(PredictRequestSchema, request));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/**
 * `CPU_PER_CALL_ALT_FLAGS="--max-semi-space-size=32"` (node flags) or
 * `CPU_PER_CALL_ALT_ARGS="--log-level warn"` (inferd flags): a second inferd (target `alt`,
 * batching on) run so, measured in the same rounds as `on`: the fair
 * comparison of V8 flags on a loaded machine, where separate runs see different loads.
 */
async function startAlternative(
  repo: BenchRepository,
  servers: ServerProcess[],
  model: BenchModel,
): Promise<Target[]> {
  const flags = process.env.CPU_PER_CALL_ALT_FLAGS?.split(" ").filter(Boolean) ?? [];
  const args = process.env.CPU_PER_CALL_ALT_ARGS?.split(" ").filter(Boolean) ?? [];
  if (flags.length === 0 && args.length === 0) return [];
  const server = await startServerProcess({
    modelRepository: repo.dir,
    nodeFlags: flags,
    extraArgs: args,
  });
  servers.push(server);
  const label = `inferd, batching on, ${[...flags, ...args].join(" ")}`;
  return [{ key: "alt", label, server, model, inferd: true }];
}

/** Starts inferd, the no-op server and the naive peer (into `servers`); lists the targets. */
async function startTargets(repo: BenchRepository, servers: ServerProcess[]): Promise<Target[]> {
  const model = (name: string) => repo.models.find((m) => m.name === name) as BenchModel;
  const inferd = await startServerProcess({ modelRepository: repo.dir });
  servers.push(inferd);
  const noop = await startServerProcess({});
  servers.push(noop);
  const naiveScript = http1 ? "bench/naive-http-server.ts" : "bench/naive-grpc-server.ts";
  const script = [naiveScript, "--model", repo.modelPaths.small];
  const naive = await startServerProcess({ script });
  servers.push(naive);
  const raw = await startServerProcess({ script: ["bench/raw-http2-server.ts"] });
  servers.push(raw);
  const on = model("small_batch");
  const off = model("small_nobatch");
  const alt = await startAlternative(repo, servers, on);
  return [
    ...alt,
    { key: "on", label: "inferd, batching on", server: inferd, model: on, inferd: true },
    { key: "off", label: "inferd, batching off", server: inferd, model: off, inferd: true },
    { key: "noop", label: "inferd no-op Predict", server: noop, model: on, inferd: false },
    {
      key: "naive",
      label: http1 ? "naive node:http JSON" : "naive grpc-js",
      server: naive,
      model: off,
      inferd: false,
    },
    { key: "raw", label: "raw node:http2 (fixed answer)", server: raw, model: off, inferd: false },
    {
      ...{ key: "mi", label: "inferd ModelInfer raw, batching on", server: inferd, model: on },
      ...{ path: "/inference.GRPCInferenceService/ModelInfer", inferd: true },
    },
  ];
}

async function main(): Promise<void> {
  const loadStart = load();
  const repo = await createBenchRepository({
    ...{ maxBatchSize: 64, classifierDelayUs: 500, heavyDelayUs: 2000, instanceCount: 1 },
    families: ["small"],
  });
  const servers: ServerProcess[] = [];
  const dir = await mkdtemp(join(tmpdir(), "inferd-cpu-per-call-"));
  try {
    const targets = (await startTargets(repo, servers)).filter((t) => only.includes(t.key));
    const results = targets.map(() => ({ main: [] as number[], all: [] as number[] }));
    for (let round = 0; round < rounds; round++) {
      for (const [i, target] of targets.entries()) {
        const body = join(dir, `${target.key}.bin`);
        await writeFile(body, requestBody(target));
        const [main, all] = await measure(target, body);
        results[i]?.main.push(main);
        results[i]?.all.push(all);
        process.stderr.write(`round ${round + 1} ${target.label}: ${main.toFixed(1)} µs main\n`);
      }
    }
    report(targets, results, `${loadStart}/${load()}`);
  } finally {
    for (const server of servers) await server.stop();
    await rm(dir, { recursive: true, force: true });
    await repo.remove();
  }
}

function report(targets: Target[], results: { main: number[]; all: number[] }[], loadAvg: string) {
  const of = (key: string) => median(results[targets.findIndex((t) => t.key === key)]?.main ?? []);
  const naive = of("naive");
  const noop = of("noop");
  console.log(
    `mlp_small, ${protocol} Predict, h2load ${http1 ? "--h1 " : ""}${lone ? "c=1" : http1 ? "c=64 over 64 connections" : "c=64 over 4 connections"}, ${calls} calls x ${rounds} rounds, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, load average ${loadAvg}\n`,
  );
  console.log(
    "| server | main thread µs/call | all threads µs/call | main vs naive | main vs no-op | rounds (main) |",
  );
  console.log("|---|---:|---:|---:|---:|---|");
  targets.forEach((t, i) => {
    const r = results[i] ?? { main: [], all: [] };
    const m = median(r.main);
    const cells = [m.toFixed(1), median(r.all).toFixed(1), `${(m / naive).toFixed(2)}x`];
    cells.push(
      noop > 0 ? `${(m / noop).toFixed(2)}x` : "-",
      r.main.map((v) => v.toFixed(1)).join(", "),
    );
    console.log(`| ${t.label} | ${cells.join(" | ")} |`);
  });
}

await main();
