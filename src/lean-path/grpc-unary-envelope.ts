import type { Readable } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import { addAbortListener, removeAbortListener } from "../abort/owned-abort.js";
import {
  hasReservedFlag,
  unexpectedPayloadFormat,
} from "../connect-adapter/grpc-reserved-flags.js";
import { requestLimitMessage } from "../connect-adapter/request-limit-message.js";

const HEADER_BYTES = 5;
const COMPRESSED_FLAG = 0b1;

/**
 * Reads a unary gRPC request body: exactly one uncompressed length-prefixed message.
 * Rejects with ResourceExhausted as soon as the declared length passes `readMaxBytes`
 * (without buffering the rest), InvalidArgument for a malformed body (a reserved flag
 * bit set included), and the signal's reason when it aborts first. The messages match
 * connect-node's, except that the over-limit one names `--max-request-bytes`.
 */
export function readUnaryEnvelope(
  body: Readable,
  readMaxBytes: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let done = false;
    // Settles once. On success at "end" the stream emits no more data: only the signal's
    // listener is removed (the stream's own listeners cost a removal each per call for nothing).
    const finish = (error: unknown, message?: Uint8Array) => {
      if (done) return;
      done = true;
      removeAbortListener(signal, onAbort);
      if (error !== undefined) {
        body.off("data", onData).off("end", onEnd);
        // Discard whatever the client still sends; the answer does not depend on it.
        body.resume();
        reject(error);
      } else if (message) resolve(message);
    };
    const onAbort = () => finish(signal.reason);
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.byteLength;
      if (length < HEADER_BYTES) return;
      const declared = headerOf(chunks).readUInt32BE(1);
      if (declared > readMaxBytes) {
        finish(
          new ConnectError(requestLimitMessage(declared, readMaxBytes), Code.ResourceExhausted),
        );
      } else if (length > HEADER_BYTES + declared) {
        finish(protocolError("received extra input message for unary method"));
      }
    };
    const onEnd = () => {
      if (length === 0) return finish(protocolError("missing input message for unary method"));
      // One chunk (a small request's usual case) needs no copy.
      const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length);
      if (length < HEADER_BYTES || length < HEADER_BYTES + all.readUInt32BE(1)) {
        return finish(protocolError("premature end of stream"));
      }
      const flags = all[0] ?? 0;
      if (hasReservedFlag(flags)) return finish(unexpectedPayloadFormat(flags));
      if (flags & COMPRESSED_FLAG) {
        return finish(protocolError("received compressed message without grpc-encoding"));
      }
      // A plain Uint8Array: protobuf-es hands out views of it as bytes fields.
      finish(
        undefined,
        new Uint8Array(all.buffer, all.byteOffset + HEADER_BYTES, length - HEADER_BYTES),
      );
    };
    if (signal.aborted) return onAbort();
    addAbortListener(signal, onAbort);
    body.on("data", onData).on("end", onEnd).on("error", finish);
  });
}

function headerOf(chunks: readonly Buffer[]): Buffer {
  const first = chunks[0];
  return first !== undefined && first.byteLength >= HEADER_BYTES
    ? first
    : Buffer.concat(chunks).subarray(0, HEADER_BYTES);
}

function protocolError(message: string): ConnectError {
  return new ConnectError(`protocol error: ${message}`, Code.InvalidArgument);
}
