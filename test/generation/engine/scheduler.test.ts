import { describe, expect, it } from "vitest";
import type { DecoderSignature } from "../../../src/generation/engine/decoder-signature.js";
import type { DecoderRunner } from "../../../src/generation/engine/decoder-step.js";
import type { SequenceEvent } from "../../../src/generation/engine/generation-protocol.js";
import { GenerationScheduler } from "../../../src/generation/engine/scheduler.js";
import type { GenerationJob } from "../../../src/generation/request/generation-request.js";
import { resolveSamplingParams } from "../../../src/generation/request/sampling-params.js";
import type { TextTokenizer } from "../../../src/generation/request/tokenizer.js";
import type { HostTensor } from "../../../src/tensor/host-tensor.js";

const VOCAB = 8;
const sig: DecoderSignature = {
  numLayers: 1,
  numKvHeads: 1,
  headDim: 1,
  vocabSize: VOCAB,
  hasPositionIds: false,
  kvCache: "concat",
};

/** A decoder whose greedy next token is (last input id + 1) mod 8; it counts its runs. */
class CountingRunner implements DecoderRunner {
  runs = 0;
  async run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    this.runs++;
    const [rows = 0, n = 0] = feeds.input_ids?.dims ?? [];
    const total = feeds.attention_mask?.dims[1] ?? 0;
    const ids = feeds.input_ids?.data as BigInt64Array;
    const logits = new Float32Array(rows * n * VOCAB);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) {
        const next = (Number(ids[r * n + j]) + 1) % VOCAB;
        logits[(r * n + j) * VOCAB + next] = 1;
      }
    }
    const kv = (): HostTensor => ({
      dtype: "float32",
      dims: [rows, 1, total, 1],
      data: new Float32Array(rows * total),
    });
    return {
      logits: { dtype: "float32", dims: [rows, n, VOCAB], data: logits },
      "present.0.key": kv(),
      "present.0.value": kv(),
    };
  }
}

const tokenizer = {
  vocabSize: VOCAB,
  decode: (ids: readonly number[]) => ids.map((id) => String.fromCharCode(97 + id)).join(""),
  idToToken: (id: number) => String.fromCharCode(97 + id),
} as unknown as TextTokenizer;

function job(promptIds: number[], maxTokens: number): GenerationJob {
  return {
    promptIds,
    sampling: resolveSamplingParams({ temperature: 0 }),
    stopping: {
      eosTokenIds: [],
      stopTokenIds: [],
      stopStrings: [],
      maxTokens,
      promptTokens: promptIds.length,
      contextWindow: 64,
    },
  };
}

describe("GenerationScheduler", () => {
  it("emits a newcomer's first token right after its prefill, before the next decode step runs", async () => {
    const runner = new CountingRunner();
    const emitted: { runsSoFar: number; events: SequenceEvent[] }[] = [];
    const scheduler = new GenerationScheduler({
      runner,
      signature: sig,
      tokenizer,
      maxConcurrentSequences: 4,
      emit: (events) => emitted.push({ runsSoFar: runner.runs, events }),
    });
    scheduler.submit(1, job([2, 3], 3));
    await scheduler.idle();
    const tokens = emitted.flatMap(({ runsSoFar, events }) =>
      events.flatMap((e) => (e.tokenIds ?? []).map((id) => ({ id, runsSoFar }))),
    );
    // Prefill is run 1 (first token 4), then one decode step per token (5, 6).
    expect(tokens).toEqual([
      { id: 4, runsSoFar: 1 },
      { id: 5, runsSoFar: 2 },
      { id: 6, runsSoFar: 3 },
    ]);
    expect(emitted.at(-1)?.events.at(-1)?.finishReason).toBe("length");
  });
});
