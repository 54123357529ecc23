import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { InferdError, type InferdErrorKind, internal } from "../../src/errors/inferd-error.js";
import { toConnectError, toStatusMessage } from "../../src/services/to-connect-error.js";

describe("toConnectError", () => {
  it.each([
    ["not_found", Code.NotFound, 5],
    ["unavailable", Code.Unavailable, 14],
    ["resource_exhausted", Code.ResourceExhausted, 8],
    ["invalid_argument", Code.InvalidArgument, 3],
    ["failed_precondition", Code.FailedPrecondition, 9],
    ["deadline_exceeded", Code.DeadlineExceeded, 4],
    ["canceled", Code.Canceled, 1],
  ] as const)("%s -> code %i (gRPC %i), message kept", (kind, code, grpc) => {
    const error = toConnectError(new InferdError(kind as InferdErrorKind, "model m: why"));
    expect(error.code).toBe(code);
    expect(error.rawMessage).toBe("model m: why");
    expect(toStatusMessage(new InferdError(kind, "x")).code).toBe(grpc);
  });

  it("passes a ConnectError through unchanged", () => {
    const original = new ConnectError("nope", Code.PermissionDenied);
    expect(toConnectError(original)).toBe(original);
  });

  it("hides internal and unknown errors, logging the cause", () => {
    const logged: unknown[] = [];
    const logger = { error: (obj: object) => logged.push((obj as { err: unknown }).err) };
    const secret = new Error("/secret/path.onnx exploded");
    for (const error of [secret, internal("disk layout"), "a string"]) {
      const mapped = toConnectError(error, logger);
      expect(mapped.code).toBe(Code.Internal);
      expect(mapped.rawMessage).toBe("internal error (see server log)");
    }
    expect(logged[0]).toBe(secret);
    expect(logged).toHaveLength(3);
    expect(toStatusMessage(secret)).toMatchObject({
      code: 13,
      message: "internal error (see server log)",
    });
  });
});
