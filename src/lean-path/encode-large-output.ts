import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Encodes a response message off the event loop when it is a big answer
 * (`createBigMessageCodec` in services/): its bytes for `path`'s method, exactly what
 * the lean path's own serialization would give, or undefined when the lean path
 * encodes it itself as usual (every other message).
 */
export type EncodeLargeOutput = (
  path: string,
  message: Message,
  binary: boolean,
) => Promise<Uint8Array> | undefined;

/**
 * The bytes `encodeLarge` resolves with, or the error to answer instead when it fails
 * (the worker died or the server is closing): internal, with no message, as any
 * unexpected failure of a lean call is answered.
 */
export async function settleEncoded(
  encoding: Promise<Uint8Array>,
): Promise<Uint8Array | ConnectError> {
  try {
    return await encoding;
  } catch (reason) {
    return new ConnectError("internal error", Code.Internal, undefined, undefined, reason);
  }
}
