import { Code, ConnectError, type StreamRequest, type StreamResponse } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createDrainController } from "../../src/server/drain-controller.js";

type AnyRequest = StreamRequest;
type AnyResponse = StreamResponse;

/** The fields of a Connect request the drain interceptor reads. */
function request(signal: AbortSignal, typeName = "inferd.v1.GenerationService"): AnyRequest {
  return {
    service: { typeName },
    method: { name: "Generate" },
    signal,
    stream: true,
  } as unknown as AnyRequest;
}

/** A server-streaming response whose messages never end unless returned. */
function endlessResponse(): AnyResponse {
  async function* messages() {
    for (let i = 0; ; i++) yield { i };
  }
  return { stream: true, message: messages() } as unknown as AnyResponse;
}

describe("createDrainController", () => {
  it("stops counting a stream whose call aborted, though nobody resumes or returns its messages", async () => {
    const drain = createDrainController();
    const controller = new AbortController();
    const next = async () => endlessResponse();
    const res = (await drain.interceptor(next)(request(controller.signal))) as AnyResponse;
    const it = res.message[Symbol.asyncIterator]();
    await it.next(); // Connect wrote one message, then the client left or the deadline passed.
    expect(drain.inFlight).toBe(1);
    controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    expect(drain.inFlight).toBe(0);
    const started = Date.now();
    await drain.drain(10_000);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("counts a stream once when it both ends and aborts", async () => {
    const drain = createDrainController();
    const controller = new AbortController();
    async function* two() {
      yield 1;
      yield 2;
    }
    const next = async () => ({ stream: true, message: two() }) as unknown as AnyResponse;
    const other = new AbortController();
    await drain.interceptor(async () => endlessResponse())(request(other.signal));
    const res = (await drain.interceptor(next)(request(controller.signal))) as AnyResponse;
    expect(drain.inFlight).toBe(2);
    for await (const _ of res.message) {
    }
    controller.abort();
    expect(drain.inFlight).toBe(1); // the other, endless stream is still in flight
  });
});
