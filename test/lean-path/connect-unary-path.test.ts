import http2 from "node:http2";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  InferenceService,
  type PredictRequest,
  PredictRequestSchema,
} from "../../gen/inferd/v1/inference_pb.js";
import { recodeConnectRefusals } from "../../src/connect-adapter/recode-connect-refusals.js";
import { notFound } from "../../src/errors/inferd-error.js";
import { createConnectUnaryPath } from "../../src/lean-path/connect-unary-path.js";
import { createUnaryMethodTable } from "../../src/lean-path/unary-method-table.js";
import {
  createOnePortListener,
  type OnePortListener,
} from "../../src/listener/one-port-listener.js";
import { createRequestHandler } from "../../src/listener/request-handler.js";
import { type Http2Exchange, rawHttp1, viaHttp2 } from "../helpers/raw-exchange.js";
import { waitFor } from "../helpers/wait-for.js";

const LIMIT = 2000;
const PATH = "/inferd.v1.InferenceService/Predict";
const ACCEPT = [compressionGzip, compressionBrotli];
const JSON_OPTIONS = { ignoreUnknownFields: false };
const SLOW_MS = 300;
let claimed = 0;
const ports = { lean: 0, plain: 0 };
const listeners: OnePortListener[] = [];

/**
 * Predict echoes the model name, setting a response header and trailers, but for "bare"
 * (none) and "cookies" (headers only: set-cookie twice); "fail" throws a non-ASCII
 * message with metadata, "fail-big" a message over 1 KiB; "slow" answers late, ignoring
 * its signal, and "slow-aware" answers late unless its signal aborts first (then throws
 * its reason).
 */
function routes(router: ConnectRouter): void {
  router.service(InferenceService, {
    async predict(request, context) {
      if (request.model === "bare") return { model: request.model };
      if (request.model === "cookies") {
        context.responseHeader.set("cache-control", "no-store");
        context.responseHeader.append("set-cookie", "a=1");
        context.responseHeader.append("set-cookie", "b=2");
        context.responseHeader.append("x-many", "1");
        context.responseHeader.append("x-many", "2");
        return { model: request.model };
      }
      context.responseHeader.set("x-echo", context.requestHeader.get("x-in") ?? "");
      context.responseTrailer.set("x-trailer", "t");
      context.responseTrailer.set("x-echo-trailer", context.requestHeader.get("x-in") ?? "");
      if (request.model === "fail") {
        throw new ConnectError("entrée «x»: rank 1, 100% faux; a/b,c", Code.InvalidArgument, {
          "x-why": "because",
        });
      }
      if (request.model === "fail-big") throw new ConnectError("é".repeat(800), Code.Aborted);
      if (request.model === "slow") await sleep(SLOW_MS);
      if (request.model === "slow-aware") {
        await sleep(SLOW_MS, undefined, context).catch(() => {
          throw context.signal.reason;
        });
      }
      return { model: request.model, requestId: request.requestId };
    },
    async *predictStream() {},
  });
}

/** Adds a response header and trailer; "bug" throws a plain Error, "gone" a domain error. */
const tagging: Interceptor = (next) => async (req) => {
  const model = req.stream ? undefined : (req.message as PredictRequest).model;
  if (model === "bug") throw new Error("secret internals at /srv/x.ts:42");
  if (model === "gone") throw notFound('model "gone" is unknown');
  const res = await next(req);
  if (model === "bare" || model === "cookies") return res;
  res.header.set("x-intercepted", "yes");
  res.trailer.set("x-intercepted-trailer", "yes");
  return res;
};

/** The production request handler (deadline headers, Host refusal), lean path or not. */
async function serve(withLeanPath: boolean): Promise<number> {
  const table = createUnaryMethodTable();
  const interceptors = [tagging];
  const connect = connectNodeAdapter({
    routes: (router) => {
      routes(table.recording(router));
      recodeConnectRefusals(router);
    },
    interceptors,
    readMaxBytes: LIMIT,
    jsonOptions: JSON_OPTIONS,
    acceptCompression: ACCEPT,
  });
  const claim = createConnectUnaryPath({
    methods: table.methods,
    interceptors,
    readMaxBytes: LIMIT,
    jsonOptions: JSON_OPTIONS,
    acceptCompression: ACCEPT,
    shutdownSignal: new AbortController().signal,
  });
  const counted: typeof claim = (req, res) => {
    const taken = claim(req, res);
    if (taken) claimed++;
    return taken;
  };
  const handler = createRequestHandler({
    corsOrigins: [],
    httpRoutes: [],
    connect,
    ...(withLeanPath && { claimRequest: counted }),
  });
  const listener = createOnePortListener({ handler });
  listeners.push(listener);
  return listener.listen(0, "127.0.0.1");
}

beforeAll(async () => {
  [ports.lean, ports.plain] = await Promise.all([serve(true), serve(false)]);
});
afterAll(async () => {
  await Promise.all(listeners.map((listener) => listener.close()));
});

const JSON_TYPE = "application/json";
const PROTO = "application/proto";
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const binary = (fields: { model?: string; requestId?: string }) =>
  Buffer.from(toBinary(PredictRequestSchema, create(PredictRequestSchema, fields)));

interface Case {
  readonly name: string;
  readonly body: Buffer;
  /** Default application/json. */
  readonly type?: string;
  readonly headers?: Record<string, string>;
  /** Left to connect-node: the lean path must not claim it. */
  readonly fallback?: true;
  readonly method?: string;
  readonly path?: string;
  /**
   * The body's framing. HTTP/1.1: content-length of the body (default or "exact"),
   * a given (lying) content-length, or chunked. HTTP/2: no content-length (default or
   * "chunked"), the body's ("exact") or a given one.
   */
  readonly length?: number | "exact" | "chunked";
  readonly http1?: false;
  readonly http2?: false;
  /** The HTTP status both must answer, where the case is about it. */
  readonly status?: number;
  /** What the raw HTTP/1.1 answer of both must contain, where the case is about it. */
  readonly says?: string;
}

const ok = json({ model: "m", requestId: "r" });
const CASES: readonly Case[] = [
  { name: "ok, JSON", body: ok },
  { name: "ok, binary", type: PROTO, body: binary({ model: "m", requestId: "r" }) },
  { name: "ok, no header nor trailer set", body: json({ model: "bare" }) },
  { name: "ok, set-cookie twice, a repeated header, no trailer", body: json({ model: "cookies" }) },
  { name: "ok, JSON with charset", type: "application/json; charset=utf-8", body: ok },
  { name: "ok, with content-length", body: ok, length: "exact" },
  { name: "ok, connect-protocol-version", body: ok, headers: { "connect-protocol-version": "1" } },
  {
    name: "ok, connect-protocol-version empty",
    body: ok,
    headers: { "connect-protocol-version": "" },
  },
  {
    name: "connect-protocol-version 2",
    status: 400,
    body: ok,
    headers: { "connect-protocol-version": "2" },
    says: '{"code":"invalid_argument","message":"Connect-Protocol-Version must be \\"1\\": got \\"2\\""}',
  },
  {
    name: "connect-protocol-version 2, binary, chunked",
    type: PROTO,
    status: 400,
    body: binary({ model: "m" }),
    length: "chunked",
    headers: { "connect-protocol-version": "2" },
  },
  {
    name: "connect-protocol-version 2 and a bad connect-timeout-ms (the timeout first)",
    status: 400,
    body: ok,
    headers: { "connect-protocol-version": "2", "connect-timeout-ms": "abc" },
    says: "invalid connect timeout value: abc",
  },
  {
    name: "connect-protocol-version 2, gzip-compressed request",
    status: 400,
    body: gzipSync(ok),
    headers: { "connect-protocol-version": "2", "content-encoding": "gzip" },
    says: "Connect-Protocol-Version must be",
    fallback: true,
  },
  { name: "request headers echoed", body: ok, headers: { "x-in": "hi" } },
  { name: "content-encoding identity", body: ok, headers: { "content-encoding": "identity" } },
  {
    name: "handler error, non-ASCII message, metadata",
    status: 400,
    body: json({ model: "fail" }),
  },
  { name: "handler error, binary request", type: PROTO, body: binary({ model: "fail" }) },
  { name: "plain Error in an interceptor", status: 500, body: json({ model: "bug" }) },
  { name: "domain error in an interceptor", status: 500, body: json({ model: "gone" }) },
  { name: "valid connect-timeout-ms", body: ok, headers: { "connect-timeout-ms": "5000" } },
  {
    name: "unschedulable connect-timeout-ms (dropped)",
    body: ok,
    headers: { "connect-timeout-ms": "9999999999" },
  },
  {
    name: "connect-timeout-ms abc",
    status: 400,
    body: ok,
    headers: { "connect-timeout-ms": "abc" },
  },
  {
    name: "connect-timeout-ms, 11 digits",
    status: 400,
    body: ok,
    headers: { "connect-timeout-ms": "12345678901" },
  },
  { name: "connect-timeout-ms empty", body: ok, headers: { "connect-timeout-ms": "" } },
  // connect-es does not race the handler: one that ignores its signal answers 200 late.
  {
    name: "deadline passes in a slow handler",
    body: json({ model: "slow" }),
    headers: { "connect-timeout-ms": "50" },
  },
  {
    name: "deadline passes in a signal-aware handler",
    status: 504,
    body: json({ model: "slow-aware" }),
    headers: { "connect-timeout-ms": "50" },
  },
  {
    name: "too large, content-length",
    status: 429,
    says: `{"code":"resource_exhausted","message":"message size 3012 is larger than the server's limit of ${LIMIT} bytes (--max-request-bytes)"}`,
    body: json({ model: "x".repeat(3000) }),
    length: "exact",
  },
  {
    name: "too large, chunked",
    status: 429,
    says: `{"code":"resource_exhausted","message":"the message is larger than the server's limit of ${LIMIT} bytes (--max-request-bytes)"}`,
    body: json({ model: "x".repeat(3000) }),
    length: "chunked",
  },
  {
    name: "too large, 256 KiB sent in full",
    body: json({ model: "x".repeat(256 * 1024) }),
    length: "exact",
    status: 429,
  },
  // Over HTTP/2 both answer 429 in full, then leave the stream half-open with the rest
  // of the body unread (the client's send stalls on flow control): no close to compare.
  {
    name: "too large, 256 KiB chunked",
    body: json({ model: "x".repeat(256 * 1024) }),
    length: "chunked",
    status: 429,
    http2: false,
  },
  { name: "malformed JSON", body: Buffer.from('{"model":') },
  { name: "JSON of the wrong type", body: json({ model: 3 }) },
  { name: "unknown JSON field", status: 400, body: json({ model: "m", nope: 1 }) },
  {
    name: "undecodable binary",
    type: PROTO,
    status: 400,
    body: Buffer.from([0x0a, 0x05, 0x69]),
    says: '{"code":"invalid_argument","message":"parse binary: premature EOF"}',
  },
  {
    name: "invalid UTF-8 in a string field, binary",
    type: PROTO,
    status: 400,
    body: Buffer.from([0x0a, 0x02, 0xff, 0xfe]),
  },
  {
    name: "gzip-compressed undecodable binary",
    type: PROTO,
    status: 400,
    body: gzipSync(Buffer.from([0x0a, 0x05, 0x69])),
    headers: { "content-encoding": "gzip" },
    says: '{"code":"invalid_argument","message":"parse binary: premature EOF"}',
    fallback: true,
  },
  {
    name: "gzip-compressed, over the limit once decompressed",
    status: 429,
    body: gzipSync(json({ model: "x".repeat(3000) })),
    headers: { "content-encoding": "gzip" },
    says: `the message is larger than the server's limit of ${LIMIT} bytes (--max-request-bytes) after decompression`,
    fallback: true,
  },
  {
    name: "truncated gzip body",
    status: 400,
    body: gzipSync(ok).subarray(0, 12),
    headers: { "content-encoding": "gzip" },
    says: '{"code":"invalid_argument","message":"decompression failed"}',
    fallback: true,
  },
  {
    name: "undecodable binary, query string",
    type: PROTO,
    status: 400,
    body: Buffer.from([0x0a, 0x05, 0x69]),
    path: `${PATH}?x=1`,
    says: '{"code":"invalid_argument","message":"parse binary: premature EOF"}',
    fallback: true,
  },
  { name: "empty body, JSON", body: Buffer.alloc(0) },
  { name: "empty body, binary", type: PROTO, body: Buffer.alloc(0) },
  { name: "content-length shorter than the body", body: ok, length: ok.byteLength - 3 },
  // Over HTTP/1.1 the server would wait for the rest: see "a client gone mid-body".
  { name: "content-length longer than the body", body: ok, length: 99, http1: false },
  {
    name: "an :authority that makes no URL",
    body: ok,
    headers: { ":authority": "[" },
    http1: false,
    fallback: true,
  },
  {
    name: "gzip accepted, small",
    body: ok,
    headers: { "accept-encoding": "gzip" },
  },
  {
    name: "gzip accepted, > 1 KiB",
    body: json({ model: "m".repeat(1500) }),
    headers: { "accept-encoding": "gzip" },
  },
  {
    name: "gzip accepted, error > 1 KiB",
    body: json({ model: "fail-big" }),
    headers: { "accept-encoding": "gzip" },
  },
  {
    name: "br preferred, > 1 KiB",
    body: json({ model: "m".repeat(1500) }),
    headers: { "accept-encoding": "br, gzip" },
  },
  {
    name: "only unknown encodings accepted, > 1 KiB",
    body: json({ model: "m".repeat(1500) }),
    headers: { "accept-encoding": "zstd" },
  },
  {
    name: "gzip-compressed request",
    body: gzipSync(ok),
    headers: { "content-encoding": "gzip" },
    fallback: true,
  },
  {
    name: "request in an unknown encoding",
    body: ok,
    headers: { "content-encoding": "zstd" },
    fallback: true,
  },
  { name: "GET", status: 405, body: Buffer.alloc(0), method: "GET", fallback: true },
  { name: "query string", body: ok, path: `${PATH}?x=1`, fallback: true },
  { name: "streaming content type", type: "application/connect+json", body: ok, fallback: true },
  { name: "unknown content type", type: "text/plain", body: ok, fallback: true },
  { name: "unknown procedure", body: ok, path: "/inferd.v1.InferenceService/Nope", fallback: true },
];

/** `body` as one HTTP/1.1 chunk and the last chunk. */
function chunked(body: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`${body.byteLength.toString(16)}\r\n`),
    body,
    Buffer.from("\r\n0\r\n\r\n"),
  ]);
}

/** The raw HTTP/1.1 exchange of a case (Date line dropped), framing included. */
function rawCall(port: number, c: Case): Promise<string> {
  const extra = Object.entries(c.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`);
  const framing =
    c.length === "chunked"
      ? "transfer-encoding: chunked"
      : `content-length: ${typeof c.length === "number" ? c.length : c.body.byteLength}`;
  const head =
    `${c.method ?? "POST"} ${c.path ?? PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
    `content-type: ${c.type ?? JSON_TYPE}\r\n${framing}\r\nconnection: close\r\n${extra.join("")}\r\n`;
  return rawHttp1(port, head, c.length === "chunked" ? chunked(c.body) : c.body);
}

/** The HTTP/2 exchange of a case: status, headers (no date), reset code, body. */
function http2Call(port: number, c: Case): Promise<Http2Exchange> {
  const length = c.length === "exact" ? c.body.byteLength : c.length;
  return viaHttp2(
    port,
    {
      ":method": c.method ?? "POST",
      ":path": c.path ?? PATH,
      "content-type": c.type ?? JSON_TYPE,
      ...(typeof length === "number" && { "content-length": String(length) }),
      ...c.headers,
    },
    c.body,
  );
}

describe("the Connect unary lean path", () => {
  it.each(CASES.filter((c) => c.http1 !== false))(
    "answers $name over HTTP/1.1 exactly as connect-node",
    async (c) => {
      const before = claimed;
      const [mine, theirs] = [await rawCall(ports.lean, c), await rawCall(ports.plain, c)];
      expect(mine).toBe(theirs);
      if (c.status) expect(mine).toMatch(new RegExp(`^HTTP/1.1 ${c.status} `));
      if (c.says) expect(mine).toContain(c.says);
      expect(claimed - before).toBe(c.fallback ? 0 : 1);
    },
  );

  it.each(CASES.filter((c) => c.http2 !== false))(
    "answers $name over HTTP/2 exactly as connect-node",
    async (c) => {
      const before = claimed;
      const [mine, theirs] = [await http2Call(ports.lean, c), await http2Call(ports.plain, c)];
      expect(mine).toEqual(theirs);
      expect(claimed - before).toBe(c.fallback ? 0 : 1);
    },
  );

  it.each([
    ["an HTTP/1.0 request without Host", "HTTP/1.0\r\n"],
    ["a Host that does not parse", "HTTP/1.1\r\nhost: [\r\nconnection: close\r\n"],
  ])("leaves %s to connect-node's path (400)", async (_, start) => {
    const before = claimed;
    const head = `POST ${PATH} ${start}content-type: ${JSON_TYPE}\r\ncontent-length: ${ok.byteLength}\r\n\r\n`;
    const [mine, theirs] = [
      await rawHttp1(ports.lean, head, ok),
      await rawHttp1(ports.plain, head, ok),
    ];
    expect(mine).toBe(theirs);
    expect(mine).toMatch(/^HTTP\/1\.1 400 /);
    expect(claimed - before).toBe(0);
  });

  it("keeps serving after a client gone mid-body (HTTP/1.1)", async () => {
    const before = claimed;
    const socket = net.connect(ports.lean, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(
      `POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: ${JSON_TYPE}\r\n` +
        'content-length: 500\r\n\r\n{"model":',
    );
    await waitFor(() => claimed === before + 1);
    socket.destroy();
    await sleep(50);
    const c = { name: "ok after", body: ok };
    expect(await rawCall(ports.lean, c)).toBe(await rawCall(ports.plain, c));
  });

  it("keeps serving after a stream cancelled mid-body (HTTP/2)", async () => {
    const before = claimed;
    const session = http2.connect(`http://127.0.0.1:${ports.lean}`);
    const stream = session.request({ ":method": "POST", ":path": PATH, "content-type": JSON_TYPE });
    stream.on("error", () => {});
    stream.write('{"model":');
    await waitFor(() => claimed === before + 1);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await sleep(50);
    session.close();
    const c = { name: "ok after", body: ok };
    expect(await http2Call(ports.lean, c)).toEqual(await http2Call(ports.plain, c));
  });
});
