/**
 * `npx tsx bench/heap-sample.ts [model] [concurrency] [seconds]` (default small_batch, 64,
 * 6): the bytes the server's main thread allocates per unary gRPC Predict, by allocation
 * site, garbage included: V8's sampling heap profiler (4 KiB interval, a statistical
 * estimate within a few %) run by a preload between two SIGUSR2, after a 3 s warm-up.
 * Prints the top sites (self), inferd's functions with callees, and the built-in sites
 * (Map, sort, node internals) with the four frames above them. Why: GC is the largest
 * single item of a Predict's main-thread time, and its cost follows the bytes allocated.
 */
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBenchRepository } from "./bench-repository.js";
import { runH2load } from "./h2load-run.js";
import { startServerProcess } from "./server-process.js";

interface ProfileNode {
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly selfSize: number;
  readonly children: ProfileNode[];
}

const [name = "small_batch", concurrency = "64", seconds = "6"] = process.argv.slice(2);
const out = join(tmpdir(), `inferd-heap-${process.pid}.json`);
process.env.HEAP_SAMPLE_OUT = out;
const repo = await createBenchRepository({
  maxBatchSize: 64,
  classifierDelayUs: 500,
  heavyDelayUs: 2000,
  instanceCount: 1,
  families: [name.startsWith("heavy") ? "heavy" : "small"],
});
const model = repo.models.find((m) => m.name === name);
if (!model) throw new Error(`no model ${name}; one of ${repo.models.map((m) => m.name)}`);
const server = await startServerProcess({
  modelRepository: repo.dir,
  nodeFlags: ["--import", "./dist/bench/heap-sampler-preload.js"],
});
const target = `127.0.0.1:${server.port}`;
const options = { target, model, concurrency: Number(concurrency), channels: 4, warmupMs: 0 };
await runH2load({ ...options, durationMs: 3000 });
process.kill(server.pid, "SIGUSR2");
await new Promise((r) => setTimeout(r, 300));
const load = await runH2load({ ...options, durationMs: Number(seconds) * 1000 });
process.kill(server.pid, "SIGUSR2");
const text = await waitForFile(out);
await server.stop();
await rm(out, { force: true });
await repo.remove();
report((JSON.parse(text) as { head: ProfileNode }).head, load.calls, load.callsPerSecond);

async function waitForFile(path: string): Promise<string> {
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    const text = await readFile(path, "utf8").catch(() => "");
    if (text.endsWith("}")) return text;
  }
}

function report(head: ProfileNode, calls: number, perSecond: number): void {
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const builtIn = new Map<string, number>();
  let total = 0;
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const walk = (n: ProfileNode, stack: readonly string[]) => {
    const f = n.callFrame;
    const url = f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, "$1/");
    const site = `${f.functionName || "(anonymous)"} ${url}:${f.lineNumber + 1}`;
    const here = [...stack, site];
    total += n.selfSize;
    add(self, site, n.selfSize);
    for (const s of new Set(here)) if (s.includes("dist/src/")) add(inclusive, s, n.selfSize);
    if (n.selfSize > 0 && (url === "" || url.startsWith("node:"))) {
      add(builtIn, here.slice(-4).reverse().join(" < "), n.selfSize);
    }
    for (const c of n.children) walk(c, here);
  };
  walk(head, []);
  const perCall = (bytes: number) => (bytes / calls).toFixed(0).padStart(6);
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${perCall(v)} B  ${k}`)
      .join("\n");
  console.log(`${name} c=${concurrency}: ${calls} calls, ${perSecond.toFixed(0)}/s`);
  console.log(`~${perCall(total).trim()} B allocated per call (sampled)`);
  console.log(`\n## self, B per call\n${top(self, 40)}`);
  console.log(`\n## inferd functions with callees, B per call\n${top(inclusive, 30)}`);
  console.log(`\n## built-in sites and their callers, B per call\n${top(builtIn, 40)}`);
}
