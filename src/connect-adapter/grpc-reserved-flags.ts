import { Code, ConnectError } from "@connectrpc/connect";

const HEADER_BYTES = 5;
const COMPRESSED_FLAG = 0b1;

/**
 * The error for a gRPC message whose flags byte has a bit set besides "compressed".
 * grpc-go refuses such a message ("grpc: received unexpected payload format %d",
 * checkRecvPayload in rpc_util.go) with Internal; the fault is the client's, so it is
 * InvalidArgument here. The lean gRPC path and connect-node's gRPC path say the same.
 */
export function unexpectedPayloadFormat(flags: number): ConnectError {
  return new ConnectError(
    `protocol error: received unexpected payload format ${flags}`,
    Code.InvalidArgument,
  );
}

/** Whether a gRPC message's flags byte has a reserved bit set (anything but 0 and 1). */
export function hasReservedFlag(flags: number): boolean {
  return (flags & ~COMPRESSED_FLAG) !== 0;
}

/**
 * A gRPC request body passed through unchanged, except that it throws
 * {@link unexpectedPayloadFormat} at the first message whose flags byte has a reserved
 * bit set. Why: connect-es's envelope reader ignores those bits (it reads only the
 * compressed flag), so connect-node's gRPC path would take `0x80` as a plain message.
 * The error surfaces where connect-es reads the body: before the interceptors for a
 * unary call, inside the call (through them) for a stream. Only the 5-byte headers
 * are looked at; payloads are skipped, never copied.
 */
export async function* rejectReservedFlags(
  body: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const header = new Uint8Array(HEADER_BYTES);
  let headerBytes = 0;
  let payloadLeft = 0;
  for await (const chunk of body) {
    for (let at = 0; at < chunk.byteLength; ) {
      if (payloadLeft > 0) {
        const skipped = Math.min(payloadLeft, chunk.byteLength - at);
        payloadLeft -= skipped;
        at += skipped;
        continue;
      }
      header[headerBytes++] = chunk[at++] as number;
      if (headerBytes < HEADER_BYTES) continue;
      const flags = header[0] as number;
      if (hasReservedFlag(flags)) throw unexpectedPayloadFormat(flags);
      payloadLeft = new DataView(header.buffer).getUint32(1);
      headerBytes = 0;
    }
    yield chunk;
  }
}
