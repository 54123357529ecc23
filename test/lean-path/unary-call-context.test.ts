import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { abortReasonToError } from "../../src/errors/inferd-error.js";
import { createUnaryCallContext } from "../../src/lean-path/unary-call-context.js";
import { linkDomainSignal } from "../../src/services/domain-signal.js";

const predict = InferenceService.method.predict;

function callUnder(shutdownSignal: AbortSignal, timeoutMs?: number) {
  return createUnaryCallContext({
    protocolName: "grpc",
    service: InferenceService,
    method: predict,
    url: "http://localhost/inferd.v1.InferenceService/Predict",
    requestHeader: new Headers(),
    timeoutMs,
    shutdownSignal,
  });
}

describe("createUnaryCallContext", () => {
  it("aborts every call in flight with the shutdown's reason, and only those", () => {
    const shutdown = new AbortController();
    const [first, second, done] = [
      callUnder(shutdown.signal),
      callUnder(shutdown.signal),
      callUnder(shutdown.signal),
    ];
    done.finish();
    const reason = new ConnectError("server is shutting down", Code.Unavailable);
    shutdown.abort(reason);
    expect(first.context.signal.reason).toBe(reason);
    expect(second.context.signal.reason).toBe(reason);
    expect(done.context.signal.reason).not.toBe(reason);
    first.finish();
    expect(first.context.signal.reason).toBe(reason);
  });

  it("starts aborted after the shutdown, and a deadline of 0 aborts at once", () => {
    const shutdown = new AbortController();
    shutdown.abort(new ConnectError("gone", Code.Unavailable));
    expect(ConnectError.from(callUnder(shutdown.signal).context.signal.reason).code).toBe(
      Code.Unavailable,
    );
    const expired = callUnder(new AbortController().signal, 0).context.signal;
    expect(ConnectError.from(expired.reason).code).toBe(Code.DeadlineExceeded);
  });

  it("aborts at its deadline with Connect's reason, which the core reads as deadline_exceeded without a linked signal", async () => {
    const call = callUnder(new AbortController().signal, 1);
    const link = linkDomainSignal(call.context.signal);
    expect(link.signal).toBe(call.context.signal);
    await new Promise((resolve) => call.context.signal.addEventListener("abort", resolve));
    const reason: unknown = call.context.signal.reason;
    expect(reason).toBeInstanceOf(ConnectError);
    expect((reason as ConnectError).code).toBe(Code.DeadlineExceeded);
    expect((reason as ConnectError).rawMessage).toBe("the operation timed out");
    expect(abortReasonToError(link.signal).kind).toBe("deadline_exceeded");
    call.finish();
  });

  it("is read as a cancel by the core when aborted for any other reason than its deadline", () => {
    const call = callUnder(new AbortController().signal, 60_000);
    call.abort(new ConnectError("client gone", Code.Canceled));
    expect(abortReasonToError(call.context.signal).kind).toBe("canceled");
    call.finish();
  });

  it("leaves a finished call's signal alone when the shutdown comes later", () => {
    const shutdown = new AbortController();
    const call = callUnder(shutdown.signal);
    call.finish();
    // Nothing listened: the end of the call is not dispatched (see OwnedAbort.end).
    expect(call.context.signal.aborted).toBe(false);
    shutdown.abort(new Error("late"));
    expect(call.context.signal.aborted).toBe(false);
  });

  it("aborts a finished call's signal Canceled when something still listens", () => {
    const shutdown = new AbortController();
    const call = callUnder(shutdown.signal);
    const heard: unknown[] = [];
    call.context.signal.addEventListener("abort", () => heard.push(call.context.signal.reason));
    call.finish();
    shutdown.abort(new Error("late"));
    expect(heard).toHaveLength(1);
    expect(ConnectError.from(heard[0]).code).toBe(Code.Canceled);
    expect(ConnectError.from(heard[0]).rawMessage).toBe("the call has finished");
  });
});
