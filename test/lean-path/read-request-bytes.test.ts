import { PassThrough } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { readRequestBytes } from "../../src/lean-path/read-request-bytes.js";

function bodyOf(...chunks: string[]): PassThrough {
  const body = new PassThrough();
  for (const chunk of chunks) body.write(Buffer.from(chunk));
  body.end();
  return body;
}

async function refusal(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

describe("readRequestBytes", () => {
  it("reads a body of the declared length, in several chunks", async () => {
    const bytes = await readRequestBytes(bodyOf("hel", "lo"), 100, "5");
    expect(Buffer.from(bytes).toString()).toBe("hello");
  });

  it("reads an empty body", async () => {
    expect((await readRequestBytes(bodyOf(), 100, "0")).byteLength).toBe(0);
  });

  it("reads a body without a length as connect-es does", async () => {
    const bytes = await readRequestBytes(bodyOf("ab", "c"), 100, null);
    expect(Buffer.from(bytes).toString()).toBe("abc");
  });

  it("refuses a body shorter than promised with connect-es's message", async () => {
    const error = await refusal(readRequestBytes(bodyOf("abc"), 100, "5"));
    expect([error.code, error.rawMessage]).toEqual([
      Code.InvalidArgument,
      "protocol error: promised 5 bytes, received 3",
    ]);
  });

  it("refuses a body longer than promised and destroys it", async () => {
    const body = bodyOf("abc", "def");
    const error = await refusal(readRequestBytes(body, 100, "4"));
    expect([error.code, error.rawMessage]).toEqual([
      Code.InvalidArgument,
      "protocol error: promised 4 bytes, received 6",
    ]);
    expect(body.destroyed).toBe(true);
  });

  it("refuses a declared length over the limit before reading", async () => {
    const error = await refusal(readRequestBytes(bodyOf("abcdef"), 5, "6"));
    expect([error.code, error.rawMessage]).toEqual([
      Code.ResourceExhausted,
      "message size 6 is larger than configured readMaxBytes 5",
    ]);
  });

  it("refuses an undeclared body over the limit", async () => {
    const error = await refusal(readRequestBytes(bodyOf("abc", "def"), 5, null));
    expect(error.code).toBe(Code.ResourceExhausted);
  });

  it("rejects, not as a ConnectError, when the body closes before its end", async () => {
    const body = new PassThrough();
    const read = readRequestBytes(body, 100, "10");
    body.write(Buffer.from("abc"));
    body.destroy();
    const error = await read.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ConnectError);
  });
});
