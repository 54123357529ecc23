import { afterEach, describe, expect, it } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import type { LoadedModel, TensorMap } from "../../src/runtime/model-runtime.js";
import { createOnnxRuntime } from "../../src/runtime/onnx-runtime.js";
import { HAS_STORIES, SKIP_REASON, STORIES_PATH, storiesFeeds } from "./stories-model.js";

const workerUrl = new URL("./crashing-worker.ts", import.meta.url);
const loaded: LoadedModel[] = [];

async function load(instanceCount: number): Promise<LoadedModel> {
  const runtime = createOnnxRuntime({ workerUrl });
  const model = await runtime.load({ modelPath: STORIES_PATH, instanceCount, session: {} });
  loaded.push(model);
  return model;
}

const kindOf = (e: unknown) => (isInferdError(e) ? e.kind : `not an InferdError: ${String(e)}`);

function crashFeeds(trigger: "__exit__" | "__throw__"): TensorMap {
  return {
    ...storiesFeeds(1, 2),
    [trigger]: { dtype: "uint8", dims: [1], data: new Uint8Array(1) },
  };
}

describe.skipIf(!HAS_STORIES)(
  HAS_STORIES ? "worker crash recovery" : `worker crash recovery (skipped: ${SKIP_REASON})`,
  () => {
    afterEach(async () => {
      await Promise.all(loaded.splice(0).map((m) => m.dispose()));
    });

    for (const trigger of ["__exit__", "__throw__"] as const) {
      it(`fails the in-flight job with internal and replaces the worker (${trigger})`, async () => {
        const model = await load(2);
        const crashed = model.run(crashFeeds(trigger)).catch((e: unknown) => e);
        const healthy = model.run(storiesFeeds(1, 3), ["logits"]);
        const error = await crashed;
        expect(isInferdError(error) && error.kind).toBe("internal");
        expect((error as Error).message).toContain("crashed during the run");
        expect((await healthy).logits?.dims).toEqual([1, 3, 512]);
        // Both instances serve again: four jobs, the replacement included.
        const outs = await Promise.all(
          [1, 2, 3, 4].map((n) => model.run(storiesFeeds(1, n), ["logits"])),
        );
        expect(outs.map((o) => o.logits?.dims[1])).toEqual([1, 2, 3, 4]);
        expect(model.pending).toBe(0);
      });
    }

    it("recovers a single-instance pool; queued jobs wait for the replacement", async () => {
      const model = await load(1);
      const crashed = model.run(crashFeeds("__exit__")).catch((e: unknown) => e);
      const queued = model.run(storiesFeeds(1, 5), ["logits"]);
      const first = await crashed;
      expect(isInferdError(first) && first.kind).toBe("internal");
      expect((await queued).logits?.dims).toEqual([1, 5, 512]);
      const again = await model.run(crashFeeds("__exit__")).catch((e: unknown) => e);
      expect(isInferdError(again) && again.kind).toBe("internal");
      expect((await model.run(storiesFeeds(1, 2), ["logits"])).logits?.dims).toEqual([1, 2, 512]);
    });

    it("fails only the run that crashed its group's worker; the others answer", async () => {
      const model = await load(1);
      const busy = model.run(storiesFeeds(1, 4), ["logits"]);
      const runs =
        model.runSeparately?.([
          { inputs: storiesFeeds(1, 2), outputNames: ["logits"] },
          { inputs: crashFeeds("__exit__") },
          { inputs: storiesFeeds(1, 6), outputNames: ["logits"] },
        ]) ?? [];
      const [a, crashed, c] = await Promise.allSettled(runs);
      expect(crashed?.status === "rejected" && kindOf(crashed.reason)).toBe("internal");
      expect(a?.status === "fulfilled" && a.value.logits?.dims).toEqual([1, 2, 512]);
      expect(c?.status === "fulfilled" && c.value.logits?.dims).toEqual([1, 6, 512]);
      expect((await busy).logits?.dims).toEqual([1, 4, 512]);
      expect(model.pending).toBe(0);
    });
  },
);
