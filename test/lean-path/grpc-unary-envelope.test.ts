import { PassThrough } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { readUnaryEnvelope } from "../../src/lean-path/grpc-unary-envelope.js";

function frame(payload: number[], flags = 0): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = flags;
  out.writeUInt32BE(payload.length, 1);
  Buffer.from(payload).copy(out, 5);
  return out;
}

/** Feeds `chunks` (each written separately) and reads the envelope. */
async function read(chunks: Buffer[], maxBytes = 100, signal = new AbortController().signal) {
  const body = new PassThrough();
  const result = readUnaryEnvelope(body, maxBytes, signal);
  for (const chunk of chunks) body.write(chunk);
  body.end();
  return result;
}

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

describe("readUnaryEnvelope", () => {
  it("returns the payload as a plain Uint8Array, whatever the chunking", async () => {
    const whole = frame([1, 2, 3, 4, 5, 6, 7]);
    const payload = await read([whole.subarray(0, 2), whole.subarray(2, 6), whole.subarray(6)]);
    expect([...payload]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(Buffer.isBuffer(payload)).toBe(false);
  });

  it("returns the payload of a body in one chunk as a plain Uint8Array too", async () => {
    const payload = await read([frame([9, 8, 7])]);
    expect([...payload]).toEqual([9, 8, 7]);
    expect(Buffer.isBuffer(payload)).toBe(false);
  });

  it("accepts an empty message (all fields default)", async () => {
    expect((await read([frame([])])).byteLength).toBe(0);
  });

  it("refuses a declared length over the limit with ResourceExhausted, from the header alone", async () => {
    const body = new PassThrough();
    const result = readUnaryEnvelope(body, 10, new AbortController().signal);
    body.write(frame(new Array<number>(11).fill(0)).subarray(0, 5));
    const error = await failure(result);
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.rawMessage).toBe(
      "message size 11 is larger than the server's limit of 10 bytes (--max-request-bytes)",
    );
  });

  it.each([
    ["no message", [], "missing input message"],
    ["a truncated message", [frame([1, 2, 3]).subarray(0, 7)], "premature end of stream"],
    ["a truncated header", [frame([1, 2, 3]).subarray(0, 3)], "premature end of stream"],
    ["two messages", [Buffer.concat([frame([1]), frame([2])])], "extra input message"],
    ["a compressed flag", [frame([1, 2], 1)], "compressed message without grpc-encoding"],
  ])("answers %s with InvalidArgument", async (_case, chunks, message) => {
    const error = await failure(read(chunks));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain(message);
  });

  it("rejects with the signal's reason when it aborts before the body ends", async () => {
    const body = new PassThrough();
    const controller = new AbortController();
    const result = readUnaryEnvelope(body, 100, controller.signal);
    body.write(frame([1, 2, 3]).subarray(0, 4));
    const reason = new ConnectError("gone", Code.Canceled);
    controller.abort(reason);
    expect(await failure(result)).toBe(reason);
  });
});
