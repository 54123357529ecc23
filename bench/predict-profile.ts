/**
 * `npx tsx bench/predict-profile.ts [model] [concurrency] [seconds] [protocol]`: where the
 * server's threads spend their time under a unary Predict load (default classifier_batch,
 * c=64, 8 s, gRPC; or connect-json or grpc-web over HTTP/1.1, all with h2load; or
 * `model-infer`: Open Inference ModelInfer with raw contents over gRPC, the same row).
 * Models: classifier, small (mlp_small) and heavy, each `_batch` and `_nobatch`.
 * Starts the production server as `npm run bench:batching` does, with `--cpu-prof`,
 * and prints for the main thread and the busiest worker their busy share and the
 * self time per source (file or package) and per function, and the time with callees
 * of inferd's own functions. Why: to tell whether the event loop, the session worker
 * or neither (waiting) limits a figure.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBenchRepository } from "./bench-repository.js";
import { runH2load } from "./h2load-run.js";
import { runHttp1Load } from "./http1-load.js";
import { runH2loadModelInfer } from "./model-infer-load.js";
import { startServerProcess } from "./server-process.js";

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

const [name = "classifier_batch", concurrency = "64", seconds = "8", protocol = "grpc"] =
  process.argv.slice(2);
const repo = await createBenchRepository({
  maxBatchSize: 64,
  classifierDelayUs: 500,
  heavyDelayUs: 2000,
  instanceCount: 1,
  families: ["classifier", "small", "heavy"],
});
const dir = await mkdtemp(join(tmpdir(), "inferd-profile-"));
try {
  const model = repo.models.find((m) => m.name === name);
  if (!model) throw new Error(`no model ${name}; one of ${repo.models.map((m) => m.name)}`);
  const server = await startServerProcess({
    modelRepository: repo.dir,
    nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
  });
  const options = {
    target: `127.0.0.1:${server.port}`,
    model,
    concurrency: Number(concurrency),
    channels: 4,
    durationMs: Number(seconds) * 1000,
    warmupMs: 700,
  };
  const load =
    protocol === "connect-json" || protocol === "grpc-web"
      ? await runHttp1Load(protocol, options)
      : protocol === "model-infer"
        ? await runH2loadModelInfer(options)
        : await runH2load(options);
  await server.stop();
  console.log(`${name} ${protocol} c=${concurrency}: ${load.callsPerSecond.toFixed(0)} calls/s`);
  const profiles = await Promise.all(
    (await readdir(dir)).sort().map(async (f) => summarize(await readFile(join(dir, f), "utf8"))),
  );
  const [main, ...workers] = profiles;
  const busiest = workers.sort((a, b) => b.busy - a.busy)[0];
  for (const [label, p] of [
    ["main thread", main],
    ["busiest worker", busiest],
  ] as const) {
    if (p) console.log(`\n## ${label}: busy ${(100 * p.busy).toFixed(1)} %\n${p.table}`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
  await repo.remove();
}

/** Busy share and the top self times, by source and by function, of one profile. */
function summarize(text: string): { busy: number; table: string } {
  const profile = JSON.parse(text) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const bySource = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const t = profile.timeDeltas[i] ?? 0;
    const frame = frames.get(id);
    total += t;
    if (!frame || frame.functionName === "(idle)") {
      idle += t;
      return;
    }
    const url = frame.url.replace(/.*\/work\/[^/]+\//, "").replace(/^file:\/\//, "");
    const source = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url || "(native)");
    bySource.set(source, (bySource.get(source) ?? 0) + t);
    const fn = `${frame.functionName || "(anonymous)"} ${source}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + t);
  });
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, t]) => `| ${k} | ${((100 * t) / total).toFixed(1)} % |`)
      .join("\n");
  const table = `| source | self |\n|---|---:|\n${top(bySource, 12)}\n\n| function | self |\n|---|---:|\n${top(byFunction, 15)}\n\n| inferd function (with callees) | total |\n|---|---:|\n${top(inclusive(profile), 25)}`;
  return { busy: (total - idle) / total, table };
}

/**
 * Time with callees of each inferd function (src/, compiled or not), counted once per
 * sample however deep it recurs: where a call's microseconds go, step by step.
 */
function inclusive(profile: CpuProfile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const times = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      const file = /\/(src\/[^:]+)\.[jt]s$/.exec(frame?.url ?? "")?.[1];
      if (frame === undefined || file === undefined) continue;
      const name = `${frame.functionName || "(anonymous)"} ${file}`;
      if (seen.has(name)) continue;
      seen.add(name);
      times.set(name, (times.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
    }
  });
  return times;
}
