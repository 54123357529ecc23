import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { abortReasonToError } from "../../src/errors/inferd-error.js";
import { toDomainSignal } from "../../src/transport/domain-signal.js";

describe("toDomainSignal", () => {
  it("turns Connect's deadline abort into deadline_exceeded", () => {
    const controller = new AbortController();
    const signal = toDomainSignal(controller.signal);
    expect(signal.aborted).toBe(false);
    controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    expect(abortReasonToError(signal).kind).toBe("deadline_exceeded");
  });

  it("turns any other abort into canceled, also when already aborted", () => {
    const controller = new AbortController();
    controller.abort(new ConnectError("client went away", Code.Canceled));
    expect(abortReasonToError(toDomainSignal(controller.signal)).kind).toBe("canceled");
  });
});
