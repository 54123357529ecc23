import { describe, expect, it } from "vitest";
import { AsyncQueue } from "../../src/generation/async-queue.js";
import { mergeEvents } from "../../src/generation/merge-events.js";

describe("mergeEvents and AsyncQueue.batches", () => {
  it("folds waiting events into one delta in order, keeping logprobs and the finish", () => {
    const lp = (tokenId: number) => ({
      chosen: { tokenId, token: `t${tokenId}`, logprob: -tokenId },
      top: [],
    });
    const merged = mergeEvents([
      { id: 1, started: true },
      { id: 1, text: "", tokenIds: [200], logprobs: [lp(200)] },
      { id: 1, text: "é", tokenIds: [171], logprobs: [lp(171)] },
      { id: 1, text: "!", tokenIds: [40], finishReason: "length" },
    ]);
    expect(merged).toEqual({
      text: "é!",
      tokenIds: [200, 171, 40],
      logprobs: [lp(200), lp(171)],
      finishReason: "length",
      error: undefined,
    });
    expect(mergeEvents([{ id: 2, text: "a", tokenIds: [7] }]).logprobs).toBeUndefined();
  });

  it("yields everything queued at once, then what arrives later, then ends", async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.push(2);
    const seen: number[][] = [];
    const reading = (async () => {
      for await (const batch of queue.batches()) seen.push(batch);
    })();
    await new Promise((resolve) => setTimeout(resolve, 1));
    queue.push(3);
    queue.end();
    await reading;
    expect(seen).toEqual([[1, 2], [3]]);
  });
});
