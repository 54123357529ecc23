import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { abortReasonToError } from "../../src/errors/inferd-error.js";
import {
  domainAbortError,
  linkDomainSignal,
  toDomainSignal,
} from "../../src/services/domain-signal.js";

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

describe("domainAbortError", () => {
  it("maps Connect's deadline and a timeout to deadline_exceeded, the rest to canceled", () => {
    const abortedWith = (reason: unknown) => AbortSignal.abort(reason);
    const deadline = new ConnectError("the operation timed out", Code.DeadlineExceeded);
    expect(domainAbortError(abortedWith(deadline)).kind).toBe("deadline_exceeded");
    const timeout = new DOMException("timed out", "TimeoutError");
    expect(domainAbortError(abortedWith(timeout)).kind).toBe("deadline_exceeded");
    expect(domainAbortError(abortedWith(new ConnectError("gone", Code.Canceled))).kind).toBe(
      "canceled",
    );
    expect(domainAbortError(abortedWith(undefined)).message).toBe(
      "the client cancelled the request",
    );
  });
});

describe("linkDomainSignal", () => {
  it("follows the source until unlinked, then ignores its abort", () => {
    const first = new AbortController();
    const linked = linkDomainSignal(first.signal);
    first.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    expect(abortReasonToError(linked.signal).kind).toBe("deadline_exceeded");

    const second = new AbortController();
    const unlinked = linkDomainSignal(second.signal);
    unlinked.unlink();
    second.abort(new ConnectError("call ended", Code.Canceled));
    expect(unlinked.signal.aborted).toBe(false);
  });
});
