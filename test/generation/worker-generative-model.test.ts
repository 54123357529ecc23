import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import { isGenerationFinish } from "../../src/generation/generation-chunk.js";
import type { GenerationRequest } from "../../src/generation/request/generation-request.js";
import { collectGeneration } from "../helpers/collect-generation.js";
import { useGenerativeModel } from "../helpers/use-generative-model.js";
import { waitFor } from "../helpers/wait-for.js";

const MODEL_DIR = join(import.meta.dirname, "../../../shared/models/stories260k/1");
const HAVE_MODEL = existsSync(join(MODEL_DIR, "model.onnx"));

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe.skipIf(!HAVE_MODEL)("WorkerGenerativeModel per-client cap (stories260k)", () => {
  // Capacity 1 + 7 = 8: the default cap is a quarter of it, 2 per client.
  const model = useGenerativeModel(MODEL_DIR, { maxConcurrentSequences: 1, maxWaiting: 7 });
  const long: GenerationRequest = {
    prompt: "Once",
    temperature: 0,
    ignoreEos: true,
    maxTokens: 400,
  };

  it("refuses a client's third sequence at once with resource_exhausted; others still get in", async () => {
    const held = new AbortController();
    const open = (client?: string) =>
      model()
        .generate(client === undefined ? long : { ...long, client }, held.signal)
        [Symbol.asyncIterator]();
    const a1 = open("peer:A");
    const a2 = open("peer:A");
    // The admission checks run in the first next(), before it waits for tokens.
    const waitingA = [a1.next(), a2.next()];
    const over = await errorOf(open("peer:A").next());
    expect(isInferdError(over) && over.kind).toBe("resource_exhausted");
    expect((over as Error).message).toMatch(
      /2 sequences running or waiting.*max_sequences_per_client 2/,
    );
    // Another client, and the anonymous (uncounted) one, are still admitted.
    const b = open("peer:B");
    const anon = [open(), open(), open()];
    const started = [...waitingA, ...[b, ...anon].map((it) => it.next())];
    held.abort();
    for (const step of await Promise.all(started)) expect(step.done).toBe(false);
    for (const it of [a1, a2, b, ...anon]) await it.return?.();
    // Once A's sequences end, A may start again.
    const again = await collectGeneration(
      model().generate({ ...long, maxTokens: 2, client: "peer:A" }, new AbortController().signal),
    );
    expect(again.ids).toHaveLength(2);
  });
});

describe.skipIf(!HAVE_MODEL)("WorkerGenerativeModel buffer bound (stories260k)", () => {
  const model = useGenerativeModel(MODEL_DIR, {
    maxConcurrentSequences: 4,
    maxWaiting: 4,
    maxBufferedEvents: 8,
  });
  const request: GenerationRequest = {
    prompt: "Once upon a time",
    temperature: 0,
    ignoreEos: true,
    maxTokens: 150,
  };

  it("pauses a call nobody reads at its buffer bound, then resumes it with the tokens of an unpaused run", async () => {
    const solo = await collectGeneration(model().generate(request, new AbortController().signal));
    const slow = model().generate(request, new AbortController().signal)[Symbol.asyncIterator]();
    const first = await slow.next();
    expect(first.done).toBe(false);
    // While this one is read to its end, the unread call shares every decode step with it:
    // unbounded, it would buffer ~150 tokens; bounded, it stops at 8, plus the steps the
    // worker runs before "pause" reaches it. A stories260k step takes about a millisecond,
    // so a main thread held up 10-20 ms (GC, the suite's other files on the same 2 cores)
    // lets that many through: CI once saw 14 here.
    await collectGeneration(
      model().generate({ ...request, prompt: "The little dog" }, new AbortController().signal),
    );
    const buffered = await slow.next();
    const bufferedIds =
      buffered.done || isGenerationFinish(buffered.value) ? [] : buffered.value.tokenIds;
    expect(bufferedIds.length).toBeGreaterThanOrEqual(8);
    expect(bufferedIds.length).toBeLessThanOrEqual(8 + 32);
    // Read to the end: the paused sequence resumed and produced exactly the solo tokens.
    const ids = [...(first.done || isGenerationFinish(first.value) ? [] : first.value.tokenIds)];
    ids.push(...bufferedIds);
    for (let r = await slow.next(); !r.done; r = await slow.next()) {
      if (!isGenerationFinish(r.value)) ids.push(...r.value.tokenIds);
      else expect(r.value.finishReason).toBe("length");
    }
    expect(ids).toEqual(solo.ids);
    expect(model().stats()).toEqual({ running: 0, waiting: 0 });
  });
});

describe.skipIf(!HAVE_MODEL)("WorkerGenerativeModel stall timeout (stories260k)", () => {
  const model = useGenerativeModel(MODEL_DIR, {
    maxConcurrentSequences: 4,
    maxWaiting: 4,
    maxBufferedEvents: 4,
    streamStallTimeoutMs: 100,
  });

  it("cancels a call left unread past the stall time with resource_exhausted, freeing its slot", async () => {
    const request: GenerationRequest = { prompt: "Once", temperature: 0, ignoreEos: true };
    const silent = model().generate(request, new AbortController().signal)[Symbol.asyncIterator]();
    expect((await silent.next()).done).toBe(false);
    // Paused at 4 unread tokens, then cancelled 100 ms later: nothing is running any more.
    await waitFor(() => model().stats().running + model().stats().waiting === 0, 10_000);
    const late = await errorOf(silent.next());
    expect(isInferdError(late) && late.kind).toBe("resource_exhausted");
    expect((late as Error).message).toMatch(/read nothing for 100 ms.*--stream-stall-timeout-ms/);
  });
});
