import { invalidArgument } from "../errors/inferd-error.js";

/**
 * The one strict UTF-8 decoder of client text. `fatal` makes malformed bytes an error
 * instead of U+FFFD: proto3 requires valid UTF-8 in strings (grpc-go refuses them, as
 * protobuf-es does in binary), so JSON bodies must not slip through with "ir��is" as a
 * model name. A leading byte-order mark is dropped, as the lenient decoders did.
 */
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes a request body as UTF-8.
 * @throws InferdError invalid_argument naming the first malformed byte and its offset.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    const at = firstMalformedByte(bytes);
    const byte = (bytes[at] ?? 0).toString(16).padStart(2, "0");
    throw invalidArgument(
      `the request body is not valid UTF-8: byte 0x${byte} at offset ${at}; send text encoded as UTF-8`,
    );
  }
}

/**
 * A decoder for connect-es's `jsonOptions.textDecoder`: Connect JSON bodies go through
 * {@link decodeUtf8}, on connect-node's path and the lean one alike. connect-es wraps
 * what it throws as InvalidArgument with the message kept.
 */
export const strictUtf8Decoder: { decode(bytes?: Uint8Array): string } = {
  decode: (bytes) => decodeUtf8(bytes ?? new Uint8Array()),
};

/**
 * Offset of the first byte that starts no valid UTF-8 sequence (the error path only).
 * Each character before the first U+FFFD that the bytes do not spell (EF BF BD)
 * decoded from exactly its own UTF-8 bytes, so their lengths sum to the offset.
 */
function firstMalformedByte(bytes: Uint8Array): number {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  let offset = 0;
  for (const char of text) {
    const spelt =
      bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd;
    if (char === "\uFFFD" && !spelt) return offset;
    offset += Buffer.byteLength(char);
  }
  return offset;
}
