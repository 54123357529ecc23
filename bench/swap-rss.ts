import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";
import { generateFixtures } from "../scripts/fixtures/generate-fixtures.js";
import { createLogger } from "../src/logging/logger.js";
import { createInferdMetrics } from "../src/metrics/inferd-metrics.js";
import type { ModelRegistry } from "../src/registry/model-registry.js";
import { createModelRegistry } from "../src/registry/repository-registry.js";
import { createInProcessSession } from "../src/runtime/in-process-session.js";
import type { LoadedModel } from "../src/runtime/model-runtime.js";
import { createOnnxRuntime } from "../src/runtime/onnx-runtime.js";
import { zeroInputs } from "../src/runtime/zero-inputs.js";
import { createLoadVersion } from "../src/server/load-version.js";
import { createProductionLoaders } from "../src/server/production-loaders.js";
import { numberArg } from "./hostile-server.js";

/**
 * Memory over hot swaps (issue 16's soak grew RSS with swaps): loads a new iris version
 * and unloads the old one `--iterations` times (default 200), in this process, through
 * the production loaders (warmup, batching, metrics), and samples RSS, the V8 heap,
 * external and array-buffer memory and the thread count after each swap (after
 * `global.gc()` when run with `--expose-gc`, so that garbage is told from leaks).
 *
 * `--execution auto|worker|inline` (model.json's), `--no-warmup`, `--level session`
 * (bare ORT sessions created and released, no registry; `--no-release` skips release),
 * `--heap-snapshots` (one after the warm-up swaps, one at the end, to compare),
 * `--fixtures <dir>` (a generated fixture repository, e.g. test/.output/models; needed
 * when run compiled, `node --expose-gc dist/bench/swap-rss.js`, as the server ships:
 * under tsx each worker registers tsx's loader, whose port Node 20 keeps per worker).
 * Run: `node --expose-gc --import tsx bench/swap-rss.ts --execution worker`,
 * beside `MALLOC_ARENA_MAX=2` to compare glibc's arenas.
 */
interface Sample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly threads: number;
}

const flag = (name: string) => process.argv.includes(`--${name}`);
const stringArg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : (process.argv[at + 1] ?? fallback);
};
const mib = (bytes: number) => bytes / 2 ** 20;

async function sample(): Promise<Sample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  const status = await readFile("/proc/self/status", "utf8");
  const threads = Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return {
    rss: mib(m.rss),
    heapUsed: mib(m.heapUsed),
    heapTotal: mib(m.heapTotal),
    external: mib(m.external),
    arrayBuffers: mib(m.arrayBuffers),
    threads,
  };
}

/** A repository holding iris version 2 as version 1 (and as `source`, what swaps copy), with the asked execution and warmup. */
async function irisRepository(): Promise<{ repo: string; scratch: string }> {
  const repo = await mkdtemp(join(tmpdir(), "inferd-swap-repo-"));
  // Compiled (dist/), the fixture generator cannot find its CSV: `--fixtures` names a generated repository.
  const given = stringArg("fixtures", "");
  const scratch = given !== "" ? given : await mkdtemp(join(tmpdir(), "inferd-swap-fixtures-"));
  if (given === "") await generateFixtures(scratch);
  await cp(join(scratch, "iris", "2"), join(repo, "iris", "1"), { recursive: true });
  // What each swap copies in; a folder without model.json is no model the scan serves.
  await cp(join(scratch, "iris", "2"), join(repo, "source"), { recursive: true });
  const config = JSON.parse(await readFile(join(scratch, "iris", "model.json"), "utf8"));
  config.version_policy = { latest: 1 };
  config.execution = stringArg("execution", "auto");
  config.warmup = !flag("no-warmup");
  await writeFile(join(repo, "iris", "model.json"), JSON.stringify(config));
  return { repo, scratch };
}

/** A registry as `inferd` composes it (production loaders, real metrics), explicit control. */
function productionRegistry(repo: string): ModelRegistry {
  const logger = createLogger({ level: "silent" });
  const metrics = createInferdMetrics();
  const loadVersion = createLoadVersion({
    runtime: createOnnxRuntime(),
    ...createProductionLoaders({ metrics, logger }),
  });
  return createModelRegistry({ repository: repo, controlMode: "explicit", loadVersion });
}

/** One hot swap: version `next` is copied in, loaded (policy latest 1), the older drained; 8 runs. */
async function swapOnce(registry: ModelRegistry, repo: string, next: number): Promise<void> {
  await cp(join(repo, "source"), join(repo, "iris", String(next)), { recursive: true });
  const unloaded = new Promise<void>((resolve) => {
    const stop = registry.subscribe((event) => {
      if (event.version === next - 1 && event.state === "unloaded") {
        stop();
        resolve();
      }
    });
  });
  await registry.load("iris");
  await unloaded;
  await rm(join(repo, "iris", String(next - 1)), { recursive: true, force: true });
  for (let i = 0; i < 8; i++) {
    const lease = registry.acquire("iris");
    try {
      const model = lease.servable as unknown as LoadedModel;
      await model.run(zeroInputs(model.inputs, 1 + (i % 4)));
    } finally {
      lease.release();
    }
  }
}

/** A bare ORT session of iris, created, run once and (unless `--no-release`) released. */
async function sessionOnce(repo: string): Promise<void> {
  const path = join(repo, "source", "model.onnx");
  const session = await createInProcessSession(path, { intraOpThreads: 1 });
  await session.run(zeroInputs(session.inputs, 4));
  if (!flag("no-release")) await session.release();
}

function row(i: number, s: Sample): string {
  const f = (n: number) => n.toFixed(1).padStart(7);
  return `${String(i).padStart(5)} ${f(s.rss)} ${f(s.heapUsed)} ${f(s.heapTotal)} ${f(s.external)} ${f(s.arrayBuffers)} ${String(s.threads).padStart(7)}`;
}

async function main(): Promise<void> {
  const iterations = numberArg("iterations", 200);
  const warm = Math.min(20, Math.floor(iterations / 10));
  const level = stringArg("level", "registry");
  const { repo, scratch } = await irisRepository();
  const registry = level === "registry" ? productionRegistry(repo) : undefined;
  await registry?.start();
  await registry?.load("iris");
  const hasGc = typeof (globalThis as { gc?: unknown }).gc === "function";
  console.log(
    `swap-rss: level ${level}, execution ${stringArg("execution", "auto")}, warmup ${!flag("no-warmup")}, release ${!flag("no-release")}, MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? "unset"}, gc ${hasGc}`,
  );
  console.log("    i  rss MiB   heapU  heapT   extern  arrBuf  threads");
  const samples: Sample[] = [await sample()];
  console.log(row(0, samples[0] as Sample));
  for (let i = 1; i <= iterations; i++) {
    if (registry) await swapOnce(registry, repo, i + 1);
    else await sessionOnce(repo);
    const s = await sample();
    samples.push(s);
    if (flag("heap-snapshots") && (i === warm || i === iterations)) {
      console.log(`heap snapshot ${writeHeapSnapshot()}`);
    }
    if (i % Math.max(1, Math.floor(iterations / 10)) === 0 || i === warm) console.log(row(i, s));
  }
  await registry?.close();
  const base = samples[warm] as Sample;
  const end = samples[samples.length - 1] as Sample;
  const perSwapKiB = ((end.rss - base.rss) * 1024) / (iterations - warm);
  console.log(
    `RSS after ${warm} warm-up swaps ${base.rss.toFixed(1)} → ${end.rss.toFixed(1)} MiB (${(((end.rss - base.rss) / base.rss) * 100).toFixed(1)} %, ${perSwapKiB.toFixed(0)} KiB a swap); heapUsed ${base.heapUsed.toFixed(1)} → ${end.heapUsed.toFixed(1)}; threads ${base.threads} → ${end.threads}`,
  );
  await rm(repo, { recursive: true, force: true });
  if (stringArg("fixtures", "") === "") await rm(scratch, { recursive: true, force: true });
}

await main();
