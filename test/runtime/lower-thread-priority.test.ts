import { readdirSync, readFileSync } from "node:fs";
import { getPriority } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lowerThreadPriority } from "../../src/runtime/lower-thread-priority.js";
import type { LoadedModel, SessionOptions } from "../../src/runtime/model-runtime.js";
import { createOnnxRuntime, DEFAULT_WORKER_NICE } from "../../src/runtime/onnx-runtime.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";

const IRIS = join(FIXTURE_REPO, "iris", "2", "model.onnx");
const ON_LINUX = process.platform === "linux";

/** The nice value of every thread of this process, by thread id (Linux's /proc). */
function threadNices(): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, "utf8");
      // Fields after the command's closing parenthesis; nice is the 19th field of stat.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      nices.set(Number(tid), Number(fields[16]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return nices;
}

/** Thread ids that appeared while `load` loaded, with their nice values. */
async function loadAndWatch(session: SessionOptions): Promise<{
  model: LoadedModel;
  started: number[];
}> {
  const before = threadNices();
  const model = await createOnnxRuntime().load({
    modelPath: IRIS,
    instanceCount: 1,
    // Two intra-op threads: onnxruntime starts one pool thread beside the worker.
    session: { intraOpThreads: 2, ...session },
    execution: "worker",
  });
  const started = [...threadNices()].filter(([tid]) => !before.has(tid)).map(([, n]) => n);
  return { model, started };
}

describe.skipIf(!ON_LINUX)(
  ON_LINUX ? "lowerThreadPriority" : "lowerThreadPriority (skipped: thread priorities need Linux)",
  () => {
    it("never lowers the main thread", () => {
      const base = getPriority(process.pid);
      expect(lowerThreadPriority(5)).toEqual({
        nice: base,
        skipped: "the main thread keeps its priority",
      });
      expect(getPriority(process.pid)).toBe(base);
    });

    it("a Predict worker and the threads onnxruntime starts in it compute below the event loop", async () => {
      const base = getPriority(process.pid);
      const { model, started } = await loadAndWatch({});
      try {
        expect(DEFAULT_WORKER_NICE).toBe(5);
        const lowered = started.filter((nice) => nice === Math.min(19, base + DEFAULT_WORKER_NICE));
        // The worker thread itself and onnxruntime's intra-op pool thread, at least.
        expect(lowered.length).toBeGreaterThanOrEqual(2);
        expect(getPriority(process.pid)).toBe(base);
        expect(model.execution?.reason).toContain("computing 5 nice levels below the event loop");
        const out = await model.run(
          {
            features: {
              dtype: "float32",
              dims: [1, 4],
              data: new Float32Array([5.1, 3.5, 1.4, 0.2]),
            },
          },
          [],
          new AbortController().signal,
        );
        expect(Object.keys(out).length).toBeGreaterThan(0);
      } finally {
        await model.dispose();
      }
    });

    it("model.json's worker_nice 0 leaves every thread at the process's priority", async () => {
      const base = getPriority(process.pid);
      const { model, started } = await loadAndWatch({ workerNice: 0 });
      try {
        expect(started.length).toBeGreaterThanOrEqual(2);
        expect(started.every((nice) => nice === base)).toBe(true);
        expect(model.execution?.reason).not.toContain("nice");
      } finally {
        await model.dispose();
      }
    });
  },
);
