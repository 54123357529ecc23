import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveServerConfig } from "../../src/config/resolve-server-config.js";
import { createLogger } from "../../src/logging/logger.js";
import { createInferdMetrics } from "../../src/metrics/inferd-metrics.js";
import type { ModelRegistry } from "../../src/registry/model-registry.js";
import type { LoadedModel } from "../../src/runtime/model-runtime.js";
import { zeroInputs } from "../../src/runtime/zero-inputs.js";
import { createInferdRegistry } from "../../src/server/inferd-registry.js";
import { createProductionLoaders } from "../../src/server/production-loaders.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";
import { copyVersion, removeVersion } from "../helpers/model-folders.js";

// A collectable WeakRef is the proof that nothing (registry maps, metrics label caches,
// the batcher, statistics) still holds an unloaded version.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Runs the garbage collector until `ref` is cleared (a WeakRef target lives out its job). */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 10 && ref.deref() !== undefined; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return ref.deref() === undefined;
}

/** Threads of this process now (worker threads and their ORT pools included). */
async function threadCount(): Promise<number> {
  return (await readdir("/proc/self/task")).length;
}

let repo: string;
let registry: ModelRegistry;

/** Loads version `next` of iris (policy latest 1), waits for `next - 1` to unload, runs it once. */
async function swapTo(next: number): Promise<WeakRef<object>[]> {
  await copyVersion(repo, "iris", next - 1, next);
  const unloaded = new Promise<void>((resolve) => {
    const stop = registry.subscribe((e) => {
      if (e.version === next - 1 && e.state === "unloaded") resolve(void stop());
    });
  });
  await registry.load("iris");
  await unloaded;
  await removeVersion(repo, "iris", next - 1);
  const lease = registry.acquire("iris");
  try {
    const model = lease.servable as unknown as LoadedModel;
    await model.run(zeroInputs(model.inputs, 2));
    return [new WeakRef(lease.servable), new WeakRef(lease.statistics)];
  } finally {
    lease.release();
  }
}

describe.skipIf(process.platform !== "linux")("createInferdRegistry: hot swaps", () => {
  beforeAll(async () => {
    repo = await mkdtemp(join(tmpdir(), "inferd-swap-"));
    await cp(join(FIXTURE_REPO, "iris", "2"), join(repo, "iris", "1"), { recursive: true });
    const config = JSON.parse(await readFile(join(FIXTURE_REPO, "iris", "model.json"), "utf8"));
    const modelJson = { ...config, version_policy: { latest: 1 }, execution: "worker" };
    await writeFile(join(repo, "iris", "model.json"), JSON.stringify(modelJson));
    const logger = createLogger({ level: "silent" });
    registry = createInferdRegistry({
      config: {
        ...resolveServerConfig({}, {}),
        modelRepository: repo,
        modelControlMode: "explicit",
      },
      logger,
      ...createProductionLoaders({
        metrics: createInferdMetrics({ collectDefault: false }),
        logger,
      }),
    });
    await registry.start();
    await registry.load("iris");
  }, 60_000);

  afterAll(async () => {
    await registry?.close();
    await rm(repo, { recursive: true, force: true });
  });

  it("lets go of each unloaded version (collected) and ends its worker threads", async () => {
    // The first swap starts what stays for the process's life (libuv's pool, ORT's globals).
    let previous = await swapTo(2);
    const baseline = await threadCount();
    for (let next = 3; next <= 5; next++) {
      const current = await swapTo(next);
      for (const ref of previous) expect(await collected(ref)).toBe(true);
      expect(await threadCount()).toBeLessThanOrEqual(baseline);
      previous = current;
    }
  }, 60_000);
});
