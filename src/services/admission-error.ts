import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { API_KEY_REQUIRED } from "../auth/api-key-verifier.js";
import type { Admission } from "../auth/key-ring.js";

/**
 * The Connect/gRPC error of a refused {@link Admission}: Unauthenticated, PermissionDenied,
 * or ResourceExhausted carrying `google.rpc.RetryInfo` (the wait before a retry may pass),
 * which gRPC clients read from `grpc-status-details-bin` and Connect clients from the
 * error's details.
 */
export function admissionError(admission: Exclude<Admission, { ok: true }>): ConnectError {
  switch (admission.reason) {
    case "unauthenticated":
      return new ConnectError(API_KEY_REQUIRED, Code.Unauthenticated);
    case "forbidden":
      return new ConnectError(admission.message, Code.PermissionDenied);
    case "rate_limited": {
      const ms = Math.max(1, Math.ceil(admission.retryAfterMs));
      const retryDelay = {
        seconds: BigInt(Math.floor(ms / 1000)),
        nanos: (ms % 1000) * 1_000_000,
      };
      const detail = { desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryDelay }) };
      return new ConnectError(admission.message, Code.ResourceExhausted, undefined, [detail]);
    }
  }
}
