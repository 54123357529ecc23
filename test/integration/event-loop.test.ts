import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PredictRequestSchema } from "../../gen/inferd/v1/inference_pb.js";
import { DataType } from "../../gen/inferd/v1/tensor_pb.js";
import {
  buildMlpHeavyModel,
  createMlpHeavyWeights,
  MLP_HEAVY_WIDTHS,
} from "../../scripts/fixtures/mlp-heavy-model.js";
import { startWorker } from "../../src/runtime/start-worker.js";
import type { LoadPlan, LoadResult } from "../helpers/grpc-load-worker.js";
import { INFERENCE_SERVICE } from "../helpers/inferd-grpc.js";
import { prioritizeMainThread } from "../helpers/prioritize-main-thread.js";
import { useInferd } from "../helpers/use-inferd.js";

const BATCH = 64;
const WIDTH = MLP_HEAVY_WIDTHS[0] as number;
const CONCURRENCY = 4;
const BUSY_MS = 2000;

// mlp_heavy (~10 M parameters, ~40 MB) is generated into this test's repository only.
const inferd = useInferd({
  models: [],
  prepare: async (repo) => {
    await mkdir(join(repo, "mlp_heavy", "1"), { recursive: true });
    const bytes = buildMlpHeavyModel(createMlpHeavyWeights());
    await writeFile(join(repo, "mlp_heavy", "1", "model.onnx"), bytes);
  },
});

/** One Predict of 64 rows (raw float32 bytes), serialized once. */
function heavyRequest(): Uint8Array {
  const x = new Float32Array(BATCH * WIDTH).map((_, i) => Math.sin(i) * 0.5);
  const request = create(PredictRequestSchema, {
    model: "mlp_heavy",
    inputs: {
      x: { dtype: DataType.FLOAT32, shape: [BATCH, WIDTH], rawData: new Uint8Array(x.buffer) },
    },
    outputs: ["y"],
    rawOutputs: true,
  });
  return toBinary(PredictRequestSchema, request);
}

/** Starts the load generator thread; resolves once it made one warm-up call. */
async function startLoad(plan: LoadPlan): Promise<{ go(): Promise<LoadResult> }> {
  const worker = startWorker(new URL("../helpers/grpc-load-worker.ts", import.meta.url), {
    workerData: plan,
  });
  const message = () =>
    new Promise<unknown>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
  expect(await message()).toBe("ready");
  return {
    async go() {
      const done = message();
      worker.postMessage("start");
      const result = (await done) as LoadResult;
      await worker.terminate();
      return result;
    },
  };
}

describe("event loop under heavy inference", () => {
  // Other tenants of this shared machine can starve the whole process for a spell, which
  // the loop's delay shows too: one more try tells that from blocking, which a session.run
  // on the loop (~100 ms a batch) would show in every try.
  it("keeps the event loop delay p99 under 10 ms while batch-64 Predicts on mlp_heavy run for 2 s", {
    retry: 2,
  }, async () => {
    const load = await startLoad({
      target: `127.0.0.1:${inferd.port}`,
      method: `${INFERENCE_SERVICE}/Predict`,
      body: heavyRequest(),
      concurrency: CONCURRENCY,
      durationMs: BUSY_MS,
    });
    const restorePriority = prioritizeMainThread();
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    const { completed, errors } = await load.go();
    histogram.disable();
    restorePriority();
    expect(errors).toEqual([]);
    const p99Ms = histogram.percentile(99) / 1e6;
    console.info(
      `event loop over ${completed} Predicts of ${BATCH} rows: p50 ${(histogram.percentile(50) / 1e6).toFixed(2)} ms, p99 ${p99Ms.toFixed(2)} ms, max ${(histogram.max / 1e6).toFixed(2)} ms`,
    );
    expect(completed).toBeGreaterThanOrEqual(CONCURRENCY);
    expect(p99Ms).toBeLessThan(10);
  });
});
