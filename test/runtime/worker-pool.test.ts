import { monitorEventLoopDelay } from "node:perf_hooks";
import { afterEach, describe, expect, it } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import { createInProcessSession } from "../../src/runtime/in-process-session.js";
import type { LoadedModel } from "../../src/runtime/model-runtime.js";
import { createOnnxRuntime } from "../../src/runtime/onnx-runtime.js";
import { HAS_STORIES, SKIP_REASON, STORIES_PATH, storiesFeeds } from "./stories-model.js";

const loaded: LoadedModel[] = [];
async function load(instanceCount: number): Promise<LoadedModel> {
  const model = await createOnnxRuntime().load({
    modelPath: STORIES_PATH,
    instanceCount,
    session: { intraOpThreads: 1, interOpThreads: 1 },
  });
  loaded.push(model);
  return model;
}

/** A run of ~150 ms on one core. */
const longFeeds = () => storiesFeeds(8, 256);
const shortFeeds = () => storiesFeeds(1, 4);
const kindOf = (e: unknown) => (isInferdError(e) ? e.kind : `not an InferdError: ${String(e)}`);

async function wallTime(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

describe.skipIf(!HAS_STORIES)(
  HAS_STORIES
    ? "worker pool on stories260k"
    : `worker pool on stories260k (skipped: ${SKIP_REASON})`,
  () => {
    afterEach(async () => {
      await Promise.all(loaded.splice(0).map((m) => m.dispose()));
    });

    it("runs a second job beside a long one on two instances, after it on one", async () => {
      // Completion order, not wall time, is the proof: it holds on a loaded machine.
      for (const [instances, expected] of [
        [2, ["short", "long"]],
        [1, ["long", "short"]],
      ] as const) {
        const model = await load(instances);
        const order: string[] = [];
        const long = model.run(storiesFeeds(16, 256)).then(() => order.push("long"));
        const short = model.run(shortFeeds()).then(() => order.push("short"));
        expect(model.pending).toBe(2);
        await Promise.all([long, short]);
        expect(order).toEqual(expected);
      }
    });

    it("keeps the main event loop responsive while a worker computes", async () => {
      const model = await load(1);
      await model.run(shortFeeds());
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      const busy = await wallTime(() => model.run(storiesFeeds(16, 256)));
      histogram.disable();
      expect(busy).toBeGreaterThan(100);
      expect(histogram.percentile(99) / 1e6).toBeLessThan(10);

      // Control: the same run on this thread stalls the loop for about its duration.
      const local = await createInProcessSession(STORIES_PATH, { intraOpThreads: 1 });
      const blocked = monitorEventLoopDelay({ resolution: 1 });
      blocked.enable();
      await new Promise((r) => setTimeout(r, 5));
      await local.run(storiesFeeds(16, 256));
      await new Promise((r) => setTimeout(r, 5));
      blocked.disable();
      await local.release();
      expect(blocked.max / 1e6).toBeGreaterThan(50);
    });

    it("serves queued jobs in FIFO order and counts queued plus running as pending", async () => {
      const model = await load(1);
      const order: string[] = [];
      const jobs = ["a", "b", "c"].map((name) =>
        model.run(storiesFeeds(2, 64)).then(() => order.push(name)),
      );
      expect(model.pending).toBe(3);
      await Promise.all(jobs);
      expect(order).toEqual(["a", "b", "c"]);
      expect(model.pending).toBe(0);
    });

    it("drops a job aborted while queued without running it", async () => {
      const model = await load(1);
      const running = model.run(longFeeds());
      const queuedFeeds = shortFeeds();
      const controller = new AbortController();
      const queued = model.run(queuedFeeds, [], controller.signal).catch((e: unknown) => e);
      expect(model.pending).toBe(2);
      controller.abort();
      expect(kindOf(await queued)).toBe("canceled");
      expect(model.pending).toBe(1);
      // Never posted to a worker: its input buffer was not transferred (still attached).
      expect((queuedFeeds.input_ids?.data as BigInt64Array | undefined)?.byteLength).toBe(4 * 8);
      await running;
      expect(model.pending).toBe(0);
    });

    it("maps a timeout abort to deadline_exceeded and an already-aborted signal too", async () => {
      const model = await load(1);
      const running = model.run(longFeeds());
      const controller = new AbortController();
      const queued = model.run(shortFeeds(), [], controller.signal).catch((e: unknown) => e);
      controller.abort(new DOMException("timed out", "TimeoutError"));
      expect(kindOf(await queued)).toBe("deadline_exceeded");
      const early = await model.run(shortFeeds(), [], AbortSignal.abort()).catch((e: unknown) => e);
      expect(kindOf(early)).toBe("canceled");
      await running;
    });

    it("rejects a job aborted while running at once and keeps the instance busy until done", async () => {
      const model = await load(1);
      const controller = new AbortController();
      const running = model.run(longFeeds(), [], controller.signal).catch((e: unknown) => e);
      const next = model.run(shortFeeds(), ["logits"]);
      await new Promise((r) => setTimeout(r, 20));
      controller.abort();
      expect(kindOf(await running)).toBe("canceled");
      expect(model.pending).toBe(2);
      expect((await next).logits?.dims).toEqual([1, 4, 512]);
      expect(model.pending).toBe(0);
    });

    it("runs queued together as separate runs: each its own outputs, a bad run fails alone", async () => {
      const model = await load(1);
      const running = model.run(longFeeds(), ["logits"]);
      // A token id out of the vocabulary: ORT fails this run only.
      const bad = storiesFeeds(1, 2);
      (bad.input_ids as { data: BigInt64Array }).data.fill(1_000_000n);
      const runs = model.runSeparately?.([
        { inputs: storiesFeeds(1, 3), outputNames: ["logits"] },
        { inputs: bad, outputNames: ["logits"] },
        { inputs: storiesFeeds(2, 5), outputNames: ["logits"] },
      ]);
      expect(runs).toHaveLength(3);
      expect(model.pending).toBe(4);
      const [a, b, c] = await Promise.allSettled(runs ?? []);
      expect(a?.status === "fulfilled" && a.value.logits?.dims).toEqual([1, 3, 512]);
      expect(b?.status === "rejected" && kindOf(b.reason)).toBe("internal");
      expect(b?.status === "rejected" && (b.reason as Error).message).toContain(
        "onnxruntime failed to run the model",
      );
      expect(c?.status === "fulfilled" && c.value.logits?.dims).toEqual([2, 5, 512]);
      expect((await running).logits?.dims).toEqual([8, 256, 512]);
      expect(model.pending).toBe(0);
    });

    it("dispose waits for queued and running jobs, then refuses new ones", async () => {
      const model = await load(1);
      const events: string[] = [];
      const first = model.run(longFeeds(), ["logits"]).then((out) => {
        events.push("first");
        return out;
      });
      const second = model.run(shortFeeds(), ["logits"]).then(() => events.push("second"));
      const disposed = model.dispose().then(() => events.push("disposed"));
      const refused = await model.run(shortFeeds()).catch((e: unknown) => e);
      expect(kindOf(refused)).toBe("unavailable");
      await Promise.all([first, second, disposed]);
      expect(events).toEqual(["first", "second", "disposed"]);
      expect((await first).logits?.dims).toEqual([8, 256, 512]);
      expect(model.pending).toBe(0);
    });
  },
);
