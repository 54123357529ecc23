import type { Message } from "@bufbuild/protobuf";

/**
 * Decodes a request body off the event loop when it is big (`createBigMessageCodec`
 * in services/): the message for `path`'s method, or undefined when the lean path
 * decodes it itself as usual (a small body). What the promise rejects with is a refused
 * call, as an inline decode failure is.
 */
export type DecodeLargeInput = (
  path: string,
  bytes: Uint8Array,
  binary: boolean,
) => Promise<Message> | undefined;
