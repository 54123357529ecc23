import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Status, StatusSchema } from "../../gen/inferd/v1/tensor_pb.js";
import { nameRequestLimit } from "../connect-adapter/request-limit-message.js";
import { type InferdErrorKind, isInferdError } from "../errors/inferd-error.js";

/** The logging the error mapping needs; a pino logger satisfies it. */
export interface ErrorLogger {
  error(obj: object, msg?: string): void;
}

const CODES: Readonly<Record<Exclude<InferdErrorKind, "internal">, Code>> = {
  not_found: Code.NotFound,
  unavailable: Code.Unavailable,
  resource_exhausted: Code.ResourceExhausted,
  invalid_argument: Code.InvalidArgument,
  failed_precondition: Code.FailedPrecondition,
  deadline_exceeded: Code.DeadlineExceeded,
  canceled: Code.Canceled,
};

/** What a client reads for an internal error: the cause stays in the server log. */
export const INTERNAL_MESSAGE = "internal error (see server log)";

/**
 * The one mapping from domain errors to Connect codes. A ConnectError passes
 * through (connect-es's over-limit message reworded to name `--max-request-bytes`). Internal errors and anything unknown become Internal with a fixed
 * message: the cause is logged, never sent to the client.
 */
export function toConnectError(error: unknown, logger?: ErrorLogger): ConnectError {
  if (error instanceof ConnectError) return nameRequestLimit(error);
  if (isInferdError(error) && error.kind !== "internal") {
    return new ConnectError(error.message, CODES[error.kind]);
  }
  logger?.error({ err: error }, "internal error");
  return new ConnectError(INTERNAL_MESSAGE, Code.Internal);
}

/** The same mapping as a proto `Status`, for one item of a batch or stream. */
export function toStatusMessage(error: unknown, logger?: ErrorLogger): Status {
  const connectError = toConnectError(error, logger);
  return create(StatusSchema, { code: connectError.code, message: connectError.rawMessage });
}
