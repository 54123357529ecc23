import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createInferdMetrics } from "../../src/metrics/inferd-metrics.js";
import { createInferenceStatistics } from "../../src/registry/inference-statistics.js";
import { parseModelConfig } from "../../src/registry/model-config.js";
import type { VersionLoadRequest } from "../../src/registry/version-load-request.js";
import { createProductionLoaders } from "../../src/server/production-loaders.js";
import { captureLogs } from "../helpers/captured-logs.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";

const DIR = join(FIXTURE_REPO, "tiny_llama", "1");

/** A load request of the tiny_llama fixture under the name `model`, with `modelJson` as its model.json. */
function request(model: string, modelJson: Record<string, unknown>): VersionLoadRequest {
  return {
    model,
    version: 1,
    dir: DIR,
    modelPath: join(DIR, "model.onnx"),
    config: parseModelConfig({ kind: "generate", ...modelJson }, "model.json"),
    kind: "generate",
    signal: new AbortController().signal,
    statistics: createInferenceStatistics(),
  };
}

describe("createProductionLoaders: a generative version's intra-op threads", () => {
  it("shares the cores among the generative versions held, model.json overriding, and logs it", async () => {
    const logs = captureLogs();
    const loaders = createProductionLoaders({
      metrics: createInferdMetrics({ collectDefault: false }),
      logger: logs.logger,
      cores: 4,
    });
    const first = await loaders.loadGenerative(request("a", {}));
    const second = await loaders.loadGenerative(request("b", {}));
    const pinned = await loaders.loadGenerative(request("c", { session: { intra_op_threads: 3 } }));
    await second.dispose();
    await pinned.dispose();
    // Back to one version held: the next one gets its share of 4 cores among 2.
    const third = await loaders.loadGenerative(request("d", {}));
    await Promise.all([first.dispose(), third.dispose()]);
    const lines = logs.parsed().filter((l) => l.msg === "generation KV cache");
    expect(lines.map((l) => [l.model, l.intra_op_threads, l.threads_reason])).toEqual([
      ["a", 4, "4 cores shared by 1 generative version"],
      ["b", 2, "4 cores shared by 2 generative versions"],
      ["c", 3, "model.json session.intra_op_threads"],
      ["d", 2, "4 cores shared by 2 generative versions"],
    ]);
  }, 60_000);
});
