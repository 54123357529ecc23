import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { decodeUtf8 } from "../text/strict-utf8.js";
import { HttpError } from "./http-error.js";

/** Options of {@link readJsonBody}. */
export interface ReadJsonBodyOptions {
  /** What an empty body means (Triton's load/unload/index take none); absent: bad JSON. */
  readonly emptyAs?: unknown;
}

/**
 * Reads and parses a JSON request body of at most `maxBytes` (the server's
 * `--max-request-bytes`): a larger declared or actual body is refused with 413
 * without buffering the rest, bad UTF-8 or bad JSON with 400 (as {@link HttpError} or
 * an invalid_argument InferdError, which each protocol words its own way).
 */
export async function readJsonBody(
  req: IncomingMessage | Http2ServerRequest,
  maxBytes: number,
  options: ReadJsonBodyOptions = {},
): Promise<unknown> {
  return parseJsonBytes(await readBodyBytes(req, maxBytes), options);
}

/**
 * The whole request body as bytes, at most `maxBytes`: a larger declared or actual
 * body is refused with 413 without buffering the rest. For bodies that are not only
 * JSON (the Open Inference Protocol's binary tensor extension).
 */
export async function readBodyBytes(
  req: IncomingMessage | Http2ServerRequest,
  maxBytes: number,
): Promise<Buffer> {
  const tooLarge = () =>
    new HttpError(
      413,
      "body_too_large",
      `the request body exceeds the server's limit of ${maxBytes} bytes (--max-request-bytes)`,
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
  return Buffer.concat(parts);
}

/** Parses JSON bytes as {@link readJsonBody} does: strict UTF-8, then JSON (400 otherwise). */
export function parseJsonBytes(bytes: Uint8Array, options: ReadJsonBodyOptions = {}): unknown {
  // Invalid UTF-8 throws invalid_argument: a 400 naming the byte, never U+FFFD in a prompt.
  const text = decodeUtf8(bytes);
  if ("emptyAs" in options && text.trim() === "") return options.emptyAs;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new HttpError(400, "bad_body", `the request body is not valid JSON: ${reason}`);
  }
}
