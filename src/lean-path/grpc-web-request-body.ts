import type { Readable } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Serialization } from "@connectrpc/connect/protocol";
import {
  createAsyncIterable,
  pipe,
  transformDecompressEnvelope,
  transformParseEnvelope,
  transformSplitEnvelope,
} from "@connectrpc/connect/protocol";
import { trailerFlag } from "@connectrpc/connect/protocol-grpc-web";
import { addAbortListener, removeAbortListener } from "../abort/owned-abort.js";
import { rejectReservedFlags } from "../connect-adapter/grpc-reserved-flags.js";

const HEADER_BYTES = 5;

/**
 * Reads a gRPC-Web unary request body as connect-es's envelope splitter sees it: the
 * whole body, or what has arrived when it holds a second complete envelope or an
 * envelope header past `readMaxBytes` (where connect-es stops reading too; the rest is
 * discarded). Rejects
 * with the signal's reason when it aborts first, or the stream's error.
 */
export function readGrpcWebBody(
  body: Readable,
  readMaxBytes: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const finish = (error: unknown) => {
      body.off("data", onData).off("end", onEnd).off("error", finish);
      removeAbortListener(signal, onAbort);
      if (error !== undefined) reject(error);
      // One chunk (the usual small body) is handed on as is: no copy.
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length));
    };
    const onAbort = () => finish(signal.reason);
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.byteLength;
      if (stopsReading(chunks, length, readMaxBytes)) {
        finish(undefined);
        // The rest is discarded: the answer does not depend on it, and the client's
        // connection (HTTP/1.1) or stream (HTTP/2) stays usable once it is sent.
        body.resume();
      }
    };
    const onEnd = () => finish(undefined);
    if (signal.aborted) return onAbort();
    addAbortListener(signal, onAbort);
    body.on("data", onData).on("end", onEnd).on("error", finish);
  });
}

/** Whether the bytes so far hold two complete envelopes, or a header over the limit. */
function stopsReading(chunks: Buffer[], length: number, readMaxBytes: number): boolean {
  const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length);
  let complete = 0;
  for (let at = 0; at + HEADER_BYTES <= length; ) {
    const declared = all.readUInt32BE(at + 1);
    if (declared > readMaxBytes) return true;
    at += HEADER_BYTES + declared;
    if (at <= length && ++complete === 2) return true;
  }
  return false;
}

/**
 * The request message of a unary gRPC-Web body. One plain envelope (the usual case)
 * is parsed at once, by `decodeLarge` when it takes it (a big one, off the event loop);
 * anything else goes through connect-es's own envelope transforms
 * and its unary input check, so that every refusal keeps connect-es's code and message
 * (re-coded by `runLeanCall` as connect-node's answers are), with reserved flag bits
 * refused first, as `guardRequestBody` refuses them on connect-node's path.
 */
export async function parseUnaryInput<T>(
  bytes: Uint8Array,
  serialization: Serialization<T>,
  readMaxBytes: number,
  decodeLarge?: (message: Uint8Array) => Promise<T> | undefined,
): Promise<T> {
  if (bytes.byteLength >= HEADER_BYTES && bytes[0] === 0) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const declared = view.getUint32(1);
    if (declared <= readMaxBytes && HEADER_BYTES + declared === bytes.byteLength) {
      const message = bytes.subarray(HEADER_BYTES);
      return decodeLarge?.(message) ?? serialization.parse(message);
    }
  }
  const input = pipe(
    rejectReservedFlags(createAsyncIterable([bytes])),
    transformSplitEnvelope(readMaxBytes),
    transformDecompressEnvelope(null, readMaxBytes),
    transformParseEnvelope(serialization, trailerFlag),
  )[Symbol.asyncIterator]();
  // As connect-es's `ensureSingle` for a unary method.
  const first = await input.next();
  if (first.done === true) throw unimplemented("missing input message for unary method");
  const second = await input.next();
  if (second.done !== true) throw unimplemented("received extra input message for unary method");
  return first.value;
}

function unimplemented(message: string): ConnectError {
  return new ConnectError(`protocol error: ${message}`, Code.Unimplemented);
}
