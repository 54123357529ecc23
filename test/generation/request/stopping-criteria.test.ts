import { describe, expect, it } from "vitest";
import {
  StoppingCriteria,
  type StoppingOptions,
} from "../../../src/generation/request/stopping-criteria.js";

const options: StoppingOptions = {
  eosTokenIds: [2, 1],
  stopTokenIds: [7],
  stopStrings: ["STOP"],
  maxTokens: 100,
  promptTokens: 3,
  contextWindow: 50,
};
const noFlush = () => "";

/** Feeds (id, delta) pairs; returns emitted text and the finish reason. */
function feed(criteria: StoppingCriteria, steps: [number, string][]) {
  let text = "";
  for (const [id, delta] of steps) {
    const decision = criteria.accept(id, delta, noFlush);
    text += decision.text;
    if (decision.finishReason)
      return { text, finish: decision.finishReason, emitToken: decision.emitToken };
  }
  return { text, finish: undefined, emitToken: true };
}

describe("StoppingCriteria", () => {
  it("holds back a possible stop-string prefix and never emits the stop string", () => {
    const c = new StoppingCriteria(options);
    expect(c.accept(10, "hello S", noFlush).text).toBe("hello ");
    expect(c.accept(11, "T", noFlush).text).toBe("");
    const last = c.accept(12, "OP and more", noFlush);
    expect(last).toEqual({ text: "", emitToken: true, finishReason: "stop" });
  });

  it("releases held text that turns out not to be a stop string", () => {
    const r = feed(new StoppingCriteria(options), [
      [10, "a ST"],
      [11, "AR b"],
    ]);
    expect(r.text).toBe("a STAR b");
    expect(r.finish).toBeUndefined();
  });

  it("stops on any eos id (a list), not emitting the token, and releases held text", () => {
    const r = feed(new StoppingCriteria(options), [
      [10, "x S"],
      [1, ""],
    ]);
    expect(r).toEqual({ text: "x S", finish: "eos", emitToken: false });
    expect(feed(new StoppingCriteria(options), [[2, ""]]).finish).toBe("eos");
  });

  it("ignores eos when the list is empty (ignore_eos) and stops on stop token ids", () => {
    const c = new StoppingCriteria({ ...options, eosTokenIds: [] });
    expect(c.accept(2, "", noFlush).finishReason).toBeUndefined();
    expect(c.accept(7, "", noFlush)).toEqual({ text: "", emitToken: false, finishReason: "stop" });
  });

  it("finishes with length at max_tokens and at the context window", () => {
    const byMax = new StoppingCriteria({ ...options, maxTokens: 2 });
    expect(byMax.accept(10, "a", noFlush).finishReason).toBeUndefined();
    expect(byMax.accept(11, "b", () => "!")).toEqual({
      text: "b!",
      emitToken: true,
      finishReason: "length",
    });
    const byWindow = new StoppingCriteria({ ...options, promptTokens: 48 });
    expect(byWindow.accept(10, "a", noFlush).finishReason).toBeUndefined();
    expect(byWindow.accept(10, "a", noFlush).finishReason).toBe("length");
  });
});
