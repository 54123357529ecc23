import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { decodeUtf8 } from "../../text/strict-utf8.js";
import { OpenAiError } from "./openai-error.js";

/**
 * Reads and parses a JSON request body of at most `maxBytes` (the server's
 * `--max-request-bytes`): a larger declared or actual body is refused with 413
 * without buffering the rest, bad UTF-8 or bad JSON with 400.
 */
export async function readJsonBody(
  req: IncomingMessage | Http2ServerRequest,
  maxBytes: number,
): Promise<unknown> {
  const tooLarge = () =>
    new OpenAiError(
      413,
      `the request body exceeds the server's limit of ${maxBytes} bytes (--max-request-bytes)`,
      "invalid_request_error",
      null,
      "request_too_large",
    );
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge();
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > maxBytes) throw tooLarge();
    parts.push(part);
  }
  // Invalid UTF-8 throws invalid_argument: a 400 naming the byte, never U+FFFD in a prompt.
  const text = decodeUtf8(Buffer.concat(parts));
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new OpenAiError(400, `the request body is not valid JSON: ${reason}`);
  }
}
