/**
 * `tsx bench/generation-load.ts [versionDir] [runs]`: loading a generative model, issue
 * 17's benchmark item 6. For the real-size fixture (`npm run fixtures:llm`) by default:
 * inferd's spawn-to-ready time and its process's peak RSS (VmHWM at ready, the worker
 * thread included), on a fresh copy of the folder (the rewrite's check runs) and again
 * (its cached rewrite is found), against a bare `InferenceSession.create` of the same file in a
 * child process under the same session options (2 intra-op threads, no spinning: what
 * inferd chooses for one generative version on two cores). Each is run `runs` times
 * (default 3) and every run is printed: the machine is shared, so look at the spread.
 */
import { execFile } from "node:child_process";
import { link, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { readOnnxWeightBytes } from "../src/onnx/read-onnx-weight-bytes.js";
import { buildOnce, startServerProcess } from "./server-process.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIR = resolve(process.argv[2] || join(ROOT, "test/.output/llm-models/smollm_135m/1"));
const RUNS = Number(process.argv[3] ?? 3);

/**
 * A bare create in a fresh process: its create time (ms), its spawn-to-created time
 * (node's start and onnxruntime-node's require included, as inferd's spawn-to-ready
 * includes them), and its peak RSS (MB).
 */
const BARE = `
const ort = require("onnxruntime-node");
const fs = require("node:fs");
const started = performance.now();
const cpu = process.cpuUsage();
ort.InferenceSession.create(process.argv[1], {
  intraOpNumThreads: 2,
  extra: { session: { intra_op: { allow_spinning: "0" } } },
}).then(() => {
  const ms = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  const hwm = /VmHWM:\\s+(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1];
  console.log(JSON.stringify({ ms, cpuMs: (user + system) / 1000, peakMb: Number(hwm) / 1024 }));
});`;

async function bareCreate(): Promise<{
  ms: number;
  cpuMs: number;
  spawnMs: number;
  peakMb: number;
}> {
  const spawned = performance.now();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["-e", BARE, join(DIR, "model.onnx")],
    { cwd: ROOT, maxBuffer: 1 << 20 },
  );
  const spawnMs = performance.now() - spawned;
  return { ...(JSON.parse(stdout) as { ms: number; cpuMs: number; peakMb: number }), spawnMs };
}

/** A repository of hard links to the fixture (ORT refuses external data through a symlink). */
async function makeRepo(): Promise<string> {
  const repo = await mkdtemp(join(DIR, "..", "..", "..", "llm-load-"));
  const dir = join(repo, "m", "1");
  await mkdir(dir, { recursive: true });
  for (const file of await readdir(DIR)) {
    if ((await stat(join(DIR, file))).isFile()) await link(join(DIR, file), join(dir, file));
  }
  await writeFile(join(repo, "m", "model.json"), JSON.stringify({ kind: "generate" }));
  return repo;
}

/**
 * Spawn-to-ready, the CPU time the process took to get there (all its threads: the
 * steadier figure on a shared machine) and peak RSS of inferd serving `repo`.
 */
async function inferdLoad(repo: string): Promise<{ ms: number; cpuMs: number; peakMb: number }> {
  const started = performance.now();
  const server = await startServerProcess({ modelRepository: repo, readyTimeoutMs: 600_000 });
  const ms = performance.now() - started;
  const [peakMb, cpuMs] = [await peakRssMb(server.pid), await cpuTimeMs(server.pid)];
  await server.stop();
  return { ms, cpuMs, peakMb };
}

/** User + system CPU time of a process so far, its threads included (Linux, 100 ticks/s). */
async function cpuTimeMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  // Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Peak resident set of a process in MB (VmHWM, Linux). */
async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

const f = (n: number) => n.toFixed(0);
const weightMb = (await readOnnxWeightBytes(join(DIR, "model.onnx"))) / 1e6 / 1.048576;
console.log(
  `${basename(resolve(DIR, ".."))}: ${f(weightMb)} MiB of weights; target peak ≤ ${f(2 * weightMb + 300)} MB; ${cpus().length} cores; load average ${loadavg()[0]?.toFixed(2)} at start`,
);
const row = (label: string, load: { ms: number; cpuMs: number; peakMb: number }, bareMs: number) =>
  `${label} ${f(load.ms)} ms (${(load.ms / bareMs).toFixed(2)}x bare; CPU ${f(load.cpuMs)} ms), peak ${f(load.peakMb)} MB`;
await buildOnce(); // compiled once, outside the first load
for (let run = 0; run < RUNS; run++) {
  const bare = await bareCreate();
  // A fresh folder: the first load runs the rewrite's check, the second finds its cached rewrite.
  const repo = await makeRepo();
  try {
    const [first, second] = [await inferdLoad(repo), await inferdLoad(repo)];
    console.log(
      `run ${run + 1}: bare create ${f(bare.ms)} ms (CPU ${f(bare.cpuMs)} ms; spawn to created ${f(bare.spawnMs)} ms), peak ${f(bare.peakMb)} MB | ${row("inferd first load", first, bare.ms)} | ${row("second load", second, bare.ms)} | load average ${loadavg()[0]?.toFixed(2)}`,
    );
  } finally {
    await rm(repo, { recursive: true, force: true });
  }
}
