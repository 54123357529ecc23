import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  declareDeadlineReasons,
  isDeadlineReason,
  markDeadlineReason,
  marksDeadlineReasons,
} from "../../src/abort/deadline-reason.js";
import { abortReasonToError } from "../../src/errors/inferd-error.js";

describe("markDeadlineReason", () => {
  it("makes the core read a marked reason as deadline_exceeded, and leaves the reason as it was", () => {
    const reason = new ConnectError("the operation timed out", Code.DeadlineExceeded);
    const controller = new AbortController();
    controller.abort(markDeadlineReason(reason));
    expect(controller.signal.reason).toBe(reason);
    expect(isDeadlineReason(reason)).toBe(true);
    expect(Object.getOwnPropertySymbols(reason)).toEqual([]);
    expect(reason.message).toBe("[deadline_exceeded] the operation timed out");
    expect(abortReasonToError(controller.signal).kind).toBe("deadline_exceeded");
  });

  it("leaves an unmarked reason a cancel, even a ConnectError DeadlineExceeded", () => {
    const controller = new AbortController();
    controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    expect(isDeadlineReason(controller.signal.reason)).toBe(false);
    expect(isDeadlineReason(undefined)).toBe(false);
    expect(isDeadlineReason("timeout")).toBe(false);
    expect(abortReasonToError(controller.signal).kind).toBe("canceled");
  });

  it("knows only the signals declared to mark their deadline", () => {
    const [declared, other] = [new AbortController().signal, new AbortController().signal];
    declareDeadlineReasons(declared);
    expect(marksDeadlineReasons(declared)).toBe(true);
    expect(marksDeadlineReasons(other)).toBe(false);
  });
});
