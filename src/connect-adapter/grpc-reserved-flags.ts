import { Code, ConnectError } from "@connectrpc/connect";

const HEADER_BYTES = 5;
const COMPRESSED_FLAG = 0b1;

/**
 * The flags a request message may carry on the Connect streaming protocol: compressed,
 * and end-stream (0b10), which connect-es skips on a request and connect-go reads as
 * the end of the client's stream. Every other bit is reserved.
 */
export const CONNECT_REQUEST_FLAGS = 0b11;

/**
 * The error for a request message whose flags byte has a reserved bit set.
 * grpc-go refuses such a message ("grpc: received unexpected payload format %d",
 * checkRecvPayload in rpc_util.go) with Internal; the fault is the client's, so it is
 * InvalidArgument here. Every path says the same: the lean gRPC and gRPC-Web paths, and
 * connect-node's gRPC, gRPC-Web and Connect streaming paths.
 */
export function unexpectedPayloadFormat(flags: number): ConnectError {
  return new ConnectError(
    `protocol error: received unexpected payload format ${flags}`,
    Code.InvalidArgument,
  );
}

/**
 * Whether a request message's flags byte has a bit set besides the `allowed` ones
 * (by default only "compressed", as gRPC and gRPC-Web requests may carry).
 */
export function hasReservedFlag(flags: number, allowed = COMPRESSED_FLAG): boolean {
  return (flags & ~allowed) !== 0;
}

/**
 * A length-prefixed request body passed through unchanged, except that it throws
 * {@link unexpectedPayloadFormat} at the first message whose flags byte has a bit set
 * besides the `allowed` ones (by default gRPC's: only "compressed"; see
 * {@link CONNECT_REQUEST_FLAGS} for the Connect streaming protocol's). Why: connect-es's
 * envelope reader reads only the compressed flag and its protocol's end-stream flag,
 * so connect-node would take gRPC's `0x80` or Connect's `0x80` as a plain message, and
 * gRPC-Web's `0x80` (the trailer flag) as the end of the stream. The error surfaces
 * where connect-es reads the body: before the interceptors for a unary call, inside the
 * call (through them) for a stream. Each chunk is checked before it is passed on; only
 * the 5-byte headers are looked at; payloads are skipped, never copied.
 */
export async function* rejectReservedFlags(
  body: AsyncIterable<Uint8Array>,
  allowed = COMPRESSED_FLAG,
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
      if (hasReservedFlag(flags, allowed)) throw unexpectedPayloadFormat(flags);
      payloadLeft = new DataView(header.buffer).getUint32(1);
      headerBytes = 0;
    }
    yield chunk;
  }
}
