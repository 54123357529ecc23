import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { abortCodeOf } from "../../src/observed-call/rpc-code.js";

describe("abortCodeOf", () => {
  it("counts a client's reset as canceled whatever its RST code; deadline and cut-off keep theirs", () => {
    const reset = (code: Code, name: string) =>
      new ConnectError(`http/2 stream closed with error code ${name}`, code);
    expect(abortCodeOf(reset(Code.Internal, "INTERNAL_ERROR (0x2)"))).toBe("canceled");
    expect(abortCodeOf(reset(Code.Canceled, "CANCEL (0x8)"))).toBe("canceled");
    expect(abortCodeOf(reset(Code.ResourceExhausted, "ENHANCE_YOUR_CALM (0xb)"))).toBe("canceled");
    expect(abortCodeOf(new DOMException("The operation was aborted", "AbortError"))).toBe(
      "canceled",
    );
    expect(abortCodeOf(new ConnectError("the operation timed out", Code.DeadlineExceeded))).toBe(
      "deadline_exceeded",
    );
    expect(abortCodeOf(new ConnectError("server is shutting down", Code.Unavailable))).toBe(
      "unavailable",
    );
  });
});
