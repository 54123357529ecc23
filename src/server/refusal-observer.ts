import type { IncomingMessage, OutgoingHttpHeader, OutgoingHttpHeaders } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { pathOf } from "../http/http-route.js";
import { wasObserved } from "../interceptors/observed-requests.js";
import { peerFrom } from "../interceptors/peer-context.js";
import type { RecordRefusedCall } from "../interceptors/rpc-call.js";
import { rpcLabelsFor } from "../interceptors/rpc-labels.js";
import type { NodeRequestHandler } from "./one-port-listener.js";
import { statusOfSentResponse } from "./status-of-sent-response.js";

/** Response methods patched on a refused call; every Node response type has them. */
type Method = (this: unknown, ...args: unknown[]) => unknown;
interface Writes {
  writeHead: Method;
  write: Method;
  end: Method;
  addTrailers: Method;
}

/** A refusal body is one small error; past this much the status is read from the head alone. */
const MAX_KEPT_BYTES = 16 * 1024;

export interface RefusalObserverOptions {
  /** The procedures Connect serves, by request path (`/package.Service/Method`). */
  readonly procedures: ReadonlyMap<string, DescMethod>;
  readonly record: RecordRefusedCall;
}

/**
 * Watches a request handed to connect-node for a refusal: a call to a known
 * procedure that connect-es answers (body over the limit, undecodable body, bad
 * timeout header, unsupported content type or HTTP method) before any interceptor
 * runs, so that the access log and the RPC metrics would never hear of it. The
 * interceptors mark the calls they see (`markObserved`) before connect-node writes
 * the response head; when the head goes out unmarked, this keeps the status,
 * trailers and (small) body it writes and records the call when the response
 * closes, with the code the client reads. A call the interceptors saw pays a start
 * timestamp, one patched `writeHead` and a WeakSet lookup. Unknown paths are left to
 * the fallback.
 */
export function createRefusalObserver(options: RefusalObserverOptions): NodeRequestHandler {
  return (req, res) => {
    const startedAt = performance.now();
    const target = res as unknown as Writes & { readonly writableEnded: boolean };
    const writeHead = target.writeHead;
    target.writeHead = function (this: unknown, ...args: unknown[]) {
      target.writeHead = writeHead;
      const method = wasObserved(req) ? undefined : options.procedures.get(pathOf(req));
      if (method !== undefined) {
        res.once("close", watch(target, req, startedAt, method, options.record, args));
      }
      return writeHead.apply(this, args);
    };
  };
}

/** Keeps what a refused call's response writes; returns what records it once it closes. */
function watch(
  target: Writes & { readonly writableEnded: boolean },
  req: IncomingMessage | Http2ServerRequest,
  startedAt: number,
  method: DescMethod,
  record: RecordRefusedCall,
  head: unknown[],
): () => void {
  const [status, second, third] = head;
  const header = toHeaders(typeof second === "string" ? third : second);
  const trailer = new Headers();
  const chunks: Uint8Array[] = [];
  let kept = 0;
  const keep = (chunk: unknown) => {
    if (kept > MAX_KEPT_BYTES) return;
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (!(bytes instanceof Uint8Array)) return;
    kept += bytes.byteLength;
    chunks.push(bytes);
  };
  const { write, end, addTrailers } = target;
  target.write = function (this: unknown, ...args: unknown[]) {
    keep(args[0]);
    return write.apply(this, args);
  };
  target.end = function (this: unknown, ...args: unknown[]) {
    if (typeof args[0] !== "function") keep(args[0]);
    return end.apply(this, args);
  };
  target.addTrailers = function (this: unknown, ...args: unknown[]) {
    for (const [key, value] of toHeaders(args[0])) trailer.append(key, value);
    return addTrailers.apply(this, args);
  };
  const contentType = req.headers["content-type"] ?? null;
  const labels = rpcLabelsFor(method, contentType);
  return () => {
    const sent = statusOfSentResponse({
      protocol: labels.protocol,
      status: typeof status === "number" ? status : 200,
      header,
      trailer,
      body: kept > MAX_KEPT_BYTES ? undefined : Buffer.concat(chunks),
    });
    const error =
      sent ??
      (target.writableEnded
        ? new ConnectError("the response carried no status", Code.Unknown)
        : new ConnectError("the client left before the status was sent", Code.Canceled));
    const requestId = req.headers["x-request-id"];
    record({
      labels,
      peer: peerFrom(single(req.headers["x-forwarded-for"]), req.socket?.remoteAddress ?? ""),
      headerRequestId: typeof requestId === "string" ? requestId : undefined,
      code: error === "ok" ? "ok" : codeToString(error.code),
      durationMs: performance.now() - startedAt,
      fields: {},
      ...(error !== "ok" && { error }),
      refused: true,
    });
  };
}

/** Node's outgoing headers (an object, or a flat [key, value, ...] list) as Web Headers. */
function toHeaders(fields: unknown): Headers {
  const headers = new Headers();
  if (Array.isArray(fields)) {
    for (let i = 0; i + 1 < fields.length; i += 2) {
      headers.append(String(fields[i]), String(fields[i + 1]));
    }
  } else if (typeof fields === "object" && fields !== null) {
    for (const [key, value] of Object.entries(fields as OutgoingHttpHeaders)) {
      appendValue(headers, key, value);
    }
  }
  return headers;
}

function appendValue(headers: Headers, key: string, value: OutgoingHttpHeader | undefined): void {
  if (value === undefined) return;
  if (Array.isArray(value)) for (const v of value) headers.append(key, v);
  else headers.append(key, String(value));
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
