import type * as http from "node:http";
import type * as http2 from "node:http2";

const MESSAGE = "grpc-message";

/**
 * Percent-encodes a status message as the gRPC HTTP/2 spec does: UTF-8, then `%XX`
 * for every byte outside printable ASCII (0x20–0x7E) and for "%" itself, nothing else.
 */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(message)) {
    const plain = byte >= 0x20 && byte <= 0x7e && byte !== 0x25;
    out += plain
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function reencode(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return encodeGrpcMessage(decodeURIComponent(value));
  } catch {
    return value;
  }
}

/**
 * For a gRPC (not gRPC-Web) call, makes the response's `grpc-message` trailer use
 * the spec's minimal encoding. connect-node writes it with `encodeURIComponent`,
 * which also escapes ":", ";", ",", "/" and the like; grpc-js decodes with
 * `decodeURI`, which leaves exactly those escaped, so grpc-js clients read
 * `input "x"%3A rank 1`. The minimal form decodes right everywhere.
 */
export function useSpecGrpcMessage(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
): void {
  const type = req.headers["content-type"] ?? "";
  if (!type.startsWith("application/grpc") || type.startsWith("application/grpc-web")) return;
  const addTrailers = res.addTrailers.bind(res);
  res.addTrailers = (headers: http.OutgoingHttpHeaders) => {
    const message = headers[MESSAGE];
    addTrailers(
      message === undefined ? headers : { ...headers, [MESSAGE]: reencode(message) as string },
    );
  };
}
