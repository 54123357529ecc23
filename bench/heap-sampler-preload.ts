/**
 * Preloaded into a bench server (`--import dist/bench/heap-sampler-preload.js`): the
 * first SIGUSR2 starts V8's sampling heap profiler with collected objects included
 * (garbage is what it is for), the next writes the profile to `$HEAP_SAMPLE_OUT`.
 * See `bench/heap-sample.ts`.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";

const session = new Session();
session.connect();
const post = (method: string, params: object = {}) =>
  new Promise<unknown>((resolve, reject) =>
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
  );
let sampling = false;
process.on("SIGUSR2", async () => {
  if (!sampling) {
    sampling = true;
    await post("HeapProfiler.startSampling", {
      samplingInterval: Number(process.env.HEAP_SAMPLE_INTERVAL ?? 4096),
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    return;
  }
  const { profile } = (await post("HeapProfiler.stopSampling")) as { profile: unknown };
  writeFileSync(process.env.HEAP_SAMPLE_OUT ?? "heap-sample.json", JSON.stringify(profile));
});
