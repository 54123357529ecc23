import type { IncomingMessage, OutgoingHttpHeader, OutgoingHttpHeaders } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { NodeRequestHandler } from "../http/http-route.js";
import { pathOf } from "../http/http-route.js";

import { claimForTransport, wasObserved } from "../observed-call/observed-requests.js";
import { peerFrom } from "../observed-call/peer-context.js";
import type { RecordRefusedCall, RpcCall } from "../observed-call/rpc-call.js";
import { rpcLabelsFor } from "../observed-call/rpc-labels.js";
import { forwardedForHeader, requestIdHeader } from "./incoming-headers.js";

import { type SentResponse, statusOfSentResponse } from "./status-of-sent-response.js";

/** Response methods patched on a refused call; every Node response type has them. */
type Method = (this: unknown, ...args: unknown[]) => unknown;
interface Writes {
  writeHead: Method;
  write: Method;
  end: Method;
  addTrailers: Method;
}

/**
 * A refusal body is one small error, but its message may echo the request (an unknown
 * field's name): past this much only the start is kept, where the code comes first.
 */
const MAX_KEPT_BYTES = 16 * 1024;

/** Options of `createRefusalObserver`: the methods it knows and where a refused call is recorded. */
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
 * trailers and (small) body it writes, and when the response closes records the call
 * with the code the client reads (canceled when the client left first, head or not).
 * A call the interceptors saw pays a map lookup, a timestamp, the peer's address, one
 * close listener and one patched `writeHead`. Unknown paths are left to the fallback.
 */
export function createRefusalObserver(options: RefusalObserverOptions): NodeRequestHandler {
  return (req, res) => {
    const method = options.procedures.get(pathOf(req));
    if (method === undefined) return;
    const startedAt = performance.now();
    // Read now: once an HTTP/2 stream has closed its socket proxy no longer tells.
    const peer = peerFrom(forwardedForHeader(req.headers), req.socket?.remoteAddress ?? "");
    const target = res as unknown as Writes;
    let sent: KeptResponse | undefined;
    const writeHead = target.writeHead;
    target.writeHead = function (this: unknown, ...args: unknown[]) {
      target.writeHead = writeHead;
      if (!wasObserved(req)) sent = keepWrites(target, args);
      return writeHead.apply(this, args);
    };
    let finished = false;
    res.once("finish", () => (finished = true));
    res.once("close", () => {
      // The interceptors may still see the call later (connect-es decompresses a body
      // asynchronously): claiming it here makes them leave it alone.
      if (!claimForTransport(req)) return;
      const labels = rpcLabelsFor(method, req.headers["content-type"] ?? null);
      // A head written without writeHead (never by connect-node) is read from its status.
      const kept = sent ?? { ...EMPTY, status: res.statusCode, header: new Headers() };
      // HTTP/2's compatibility layer emits "finish" on a reset too; "aborted" tells. (An
      // HTTP/1 request is marked aborted when answered before its body was read.)
      const left = !finished || ("stream" in req && req.aborted);
      const status = left ? CLIENT_LEFT : statusOf(kept, labels.protocol);
      options.record(refusedCall(req, labels, peer, status, performance.now() - startedAt));
    });
  };
}

const CLIENT_LEFT = new ConnectError("the client left before the response was sent", Code.Canceled);
const EMPTY = { trailer: new Headers(), chunks: [], kept: 0 };

/** What a refused call's response wrote, kept for {@link statusOfSentResponse}. */
interface KeptResponse {
  readonly status: number;
  readonly header: Headers;
  readonly trailer: Headers;
  readonly chunks: Uint8Array[];
  kept: number;
  /** More was written than kept. */
  truncated?: boolean;
}

/** Patches the response to keep what it writes after this head; returns the record. */
function keepWrites(target: Writes, head: unknown[]): KeptResponse {
  const [status, second, third] = head;
  const sent: KeptResponse = {
    status: typeof status === "number" ? status : 200,
    header: toHeaders(typeof second === "string" ? third : second),
    trailer: new Headers(),
    chunks: [],
    kept: 0,
  };
  const keep = (chunk: unknown) => {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) return;
    const room = MAX_KEPT_BYTES - sent.kept;
    if (bytes.byteLength > room) sent.truncated = true;
    if (room <= 0) return;
    const part = bytes.subarray(0, room);
    sent.kept += part.byteLength;
    sent.chunks.push(part);
  };
  const { write, end, addTrailers } = target;
  // HTTP/2's end(chunk) writes the chunk through write(); HTTP/1's does not.
  let ending = false;
  target.write = function (this: unknown, ...args: unknown[]) {
    if (!ending) keep(args[0]);
    return write.apply(this, args);
  };
  target.end = function (this: unknown, ...args: unknown[]) {
    if (typeof args[0] !== "function") keep(args[0]);
    ending = true;
    try {
      return end.apply(this, args);
    } finally {
      ending = false;
    }
  };
  target.addTrailers = function (this: unknown, ...args: unknown[]) {
    for (const [key, value] of toHeaders(args[0])) sent.trailer.append(key, value);
    return addTrailers.apply(this, args);
  };
  return sent;
}

/**
 * The code the client read from the kept response. It runs in a "close" listener,
 * where a throw would be an uncaught exception: whatever it cannot read is Unknown.
 */
function statusOf(sent: KeptResponse, protocol: SentResponse["protocol"]): ConnectError | "ok" {
  try {
    const body = Buffer.concat(sent.chunks);
    const status = statusOfSentResponse({
      ...sent,
      protocol,
      body,
      truncated: sent.truncated === true,
    });
    return status ?? new ConnectError("the response carried no status", Code.Unknown);
  } catch (error) {
    return new ConnectError(
      `the response's status could not be read: ${String(error)}`,
      Code.Unknown,
    );
  }
}

function refusedCall(
  req: IncomingMessage | Http2ServerRequest,
  labels: RpcCall["labels"],
  peer: string,
  status: ConnectError | "ok",
  durationMs: number,
): RpcCall {
  return {
    labels,
    peer,
    headerRequestId: requestIdHeader(req.headers),
    code: status === "ok" ? "ok" : codeToString(status.code),
    durationMs,
    fields: {},
    ...(status !== "ok" && { error: status }),
    refused: true,
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
