import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
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
import { createGrpcWebUnaryPath } from "../../src/lean-path/grpc-web-unary-path.js";
import { createUnaryMethodTable } from "../../src/lean-path/unary-method-table.js";
import {
  createOnePortListener,
  type OnePortListener,
} from "../../src/listener/one-port-listener.js";
import { type Http2Exchange, rawHttp1, viaHttp2 } from "../helpers/raw-exchange.js";

const LIMIT = 2000;
const PATH = "/inferd.v1.InferenceService/Predict";
const ACCEPT = [compressionGzip, compressionBrotli];
const JSON_OPTIONS = { ignoreUnknownFields: false };
let claimed = 0;
const ports = { lean: 0, plain: 0 };
const listeners: OnePortListener[] = [];

/** Predict echoes the model name; "fail" throws a non-ASCII message with metadata. */
function routes(router: ConnectRouter): void {
  router.service(InferenceService, {
    async predict(request, context) {
      context.responseHeader.set("x-echo", context.requestHeader.get("x-in") ?? "");
      context.responseTrailer.set("x-trailer", "t");
      context.responseTrailer.set("x-echo-trailer", context.requestHeader.get("x-in") ?? "");
      if (request.model === "fail") {
        throw new ConnectError("entrée «x»: rank 1, 100% faux; a/b,c", Code.InvalidArgument, {
          "x-why": "because",
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
  res.header.set("x-intercepted", "yes");
  res.trailer.set("x-intercepted-trailer", "yes");
  return res;
};

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
  const claim = createGrpcWebUnaryPath({
    methods: table.methods,
    interceptors,
    readMaxBytes: LIMIT,
    jsonOptions: JSON_OPTIONS,
    acceptCompression: ACCEPT,
    shutdownSignal: new AbortController().signal,
  });
  const listener = createOnePortListener({
    handler: (req, res) => {
      if (withLeanPath && claim(req, res)) {
        claimed++;
        return;
      }
      connect(req, res);
    },
  });
  listeners.push(listener);
  return listener.listen(0, "127.0.0.1");
}

beforeAll(async () => {
  [ports.lean, ports.plain] = await Promise.all([serve(true), serve(false)]);
});
afterAll(async () => {
  await Promise.all(listeners.map((listener) => listener.close()));
});

function envelope(data: Uint8Array, flags = 0, declared = data.byteLength): Buffer {
  const bytes = Buffer.alloc(5 + data.byteLength);
  bytes[0] = flags;
  bytes.writeUInt32BE(declared, 1);
  bytes.set(data, 5);
  return bytes;
}

const binary = (fields: { model?: string; requestId?: string }) =>
  envelope(toBinary(PredictRequestSchema, create(PredictRequestSchema, fields)));
const json = (text: string) => envelope(Buffer.from(text));
const PROTO = "application/grpc-web+proto";
const payloadFormat = (flags: number) =>
  `grpc-message: protocol%20error%3A%20received%20unexpected%20payload%20format%20${flags}\r\n`;
const JSON_TYPE = "application/grpc-web+json";

interface Case {
  readonly name: string;
  /** What the raw HTTP/1.1 answer of both must contain, where the case is about it. */
  readonly says?: string;
  readonly type: string;
  readonly body: Buffer;
  readonly headers?: Record<string, string>;
}

const CASES: readonly Case[] = [
  { name: "ok, binary", type: PROTO, body: binary({ model: "m", requestId: "r" }) },
  { name: "ok, bare grpc-web", type: "application/grpc-web", body: binary({ model: "m" }) },
  {
    name: "ok, JSON",
    type: JSON_TYPE,
    body: json(toJsonString(PredictRequestSchema, create(PredictRequestSchema, { model: "j" }))),
  },
  {
    name: "ok, with a deadline",
    type: PROTO,
    body: binary({ model: "m" }),
    headers: { "grpc-timeout": "5S" },
  },
  {
    name: "request headers echoed",
    type: PROTO,
    body: binary({ model: "m" }),
    headers: { "x-in": "hi" },
  },
  { name: "handler error, non-ASCII message", type: PROTO, body: binary({ model: "fail" }) },
  { name: "domain error in an interceptor", type: PROTO, body: binary({ model: "gone" }) },
  { name: "plain Error in an interceptor", type: PROTO, body: binary({ model: "bug" }) },
  {
    name: "bad grpc-timeout",
    type: PROTO,
    body: binary({ model: "m" }),
    headers: { "grpc-timeout": "1x" },
  },
  {
    name: "too large",
    type: PROTO,
    body: envelope(Buffer.alloc(10), 0, LIMIT + 1),
    says: "grpc-message: message%20size%202001%20is%20larger%20than%20the%20server's%20limit%20of%202000%20bytes%20(--max-request-bytes)\r\ngrpc-status: 8\r\n",
  },
  {
    name: "too large, sent in full",
    type: PROTO,
    body: envelope(Buffer.alloc(256 * 1024)),
    says: "(--max-request-bytes)",
  },
  {
    name: "two messages, the second too large",
    type: PROTO,
    body: Buffer.concat([binary({ model: "a" }), envelope(Buffer.alloc(128 * 1024))]),
  },
  {
    name: "undecodable message",
    type: PROTO,
    body: envelope(Buffer.from([0x0a, 0x05, 0x69])),
    says: "grpc-message: parse%20binary%3A%20premature%20EOF\r\ngrpc-status: 3\r\n",
  },
  {
    name: "invalid UTF-8 in a string field",
    type: PROTO,
    body: envelope(Buffer.from([0x0a, 0x02, 0xff, 0xfe])),
    says: "grpc-status: 3\r\n",
  },
  {
    name: "compressed flag without grpc-encoding",
    type: PROTO,
    body: envelope(Buffer.from([0x0a, 0x01, 0x69]), 1),
    says: "grpc-status: 3\r\n",
  },
  { name: "unknown JSON field", type: JSON_TYPE, body: json('{"model":"m","nope":1}') },
  {
    name: "empty body",
    type: PROTO,
    body: Buffer.alloc(0),
    says: "grpc-message: protocol%20error%3A%20missing%20input%20message%20for%20unary%20method\r\ngrpc-status: 3\r\n",
  },
  {
    name: "two messages",
    type: PROTO,
    body: Buffer.concat([binary({ model: "a" }), binary({ model: "b" })]),
    says: "grpc-message: protocol%20error%3A%20received%20extra%20input%20message%20for%20unary%20method\r\ngrpc-status: 3\r\n",
  },
  { name: "incomplete envelope", type: PROTO, body: binary({ model: "m" }).subarray(0, 6) },
  {
    name: "trailer flag",
    type: PROTO,
    body: envelope(Buffer.from("a: b\r\n"), 0x80),
    says: `${payloadFormat(128)}grpc-status: 3\r\n`,
  },
  {
    name: "reserved flag 0x02",
    type: PROTO,
    body: envelope(Buffer.from([0x0a, 0x01, 0x6d]), 0x02),
    says: `${payloadFormat(2)}grpc-status: 3\r\n`,
  },
  {
    name: "reserved flag 0x81, JSON",
    type: JSON_TYPE,
    body: envelope(Buffer.from("{}"), 0x81),
    says: `${payloadFormat(129)}grpc-status: 3\r\n`,
  },
  {
    name: "a message, then a trailer flag",
    type: PROTO,
    body: Buffer.concat([binary({ model: "a" }), envelope(Buffer.alloc(0), 0x80)]),
    says: `${payloadFormat(128)}grpc-status: 3\r\n`,
  },
  {
    name: "reserved flag on a declared length over the limit",
    type: PROTO,
    body: envelope(Buffer.alloc(10), 0x40, LIMIT + 1),
    says: `${payloadFormat(64)}grpc-status: 3\r\n`,
  },
  {
    name: "gzip accepted, small",
    type: PROTO,
    body: binary({ model: "m" }),
    headers: { "grpc-accept-encoding": "gzip" },
  },
  {
    name: "gzip accepted, > 1 KiB",
    type: PROTO,
    body: binary({ model: "m".repeat(1500) }),
    headers: { "grpc-accept-encoding": "gzip" },
  },
  {
    name: "brotli accepted, > 1 KiB trailer",
    type: PROTO,
    body: binary({ model: "m" }),
    headers: { "grpc-accept-encoding": "br, gzip", "x-in": "y".repeat(1100) },
  },
  {
    name: "grpc-encoding identity",
    type: PROTO,
    body: binary({ model: "m" }),
    headers: { "grpc-encoding": "identity" },
  },
];

/** The raw HTTP/1.1 response (Date line dropped), chunk framing included. */
function rawCall(port: number, c: Case): Promise<string> {
  const extra = Object.entries(c.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`);
  const head =
    `POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: ${c.type}\r\n` +
    `content-length: ${c.body.byteLength}\r\nconnection: close\r\n${extra.join("")}\r\n`;
  return rawHttp1(port, head, c.body);
}

/** The HTTP/2 response: status and headers (no date) and the body's bytes. */
function http2Call(port: number, c: Case): Promise<Http2Exchange> {
  const headers = { ":method": "POST", ":path": PATH, "content-type": c.type, ...c.headers };
  return viaHttp2(port, headers, c.body);
}

/** The body's envelopes, for a readable diff: flags and (gunzipped) text. */
function frames(raw: string): string[] {
  const start = raw.indexOf("\r\n\r\n") + 4;
  const body = Buffer.from(
    raw
      .slice(start)
      .split("\r\n")
      .filter((_, i) => i % 2 === 1)
      .join(""),
    "latin1",
  );
  const inflate = raw.includes("grpc-encoding: br") ? brotliDecompressSync : gunzipSync;
  const out: string[] = [];
  for (let at = 0; at + 5 <= body.length; ) {
    const flags = body[at] ?? 0;
    const data = body.subarray(at + 5, at + 5 + body.readUInt32BE(at + 1));
    out.push(`${flags}:${(flags & 1 ? inflate(data) : data).toString("latin1")}`);
    at += 5 + data.length;
  }
  return out;
}

describe("the gRPC-Web unary lean path", () => {
  it.each(CASES)("answers $name over HTTP/1.1 exactly as connect-node", async (c) => {
    const before = claimed;
    const [mine, theirs] = [await rawCall(ports.lean, c), await rawCall(ports.plain, c)];
    expect(frames(mine)).toEqual(frames(theirs));
    expect(mine).toBe(theirs);
    if (c.says) expect(mine).toContain(c.says);
    expect(claimed - before).toBe(1);
  });

  // Known difference: over HTTP/2, connect-node resets a stream whose body it left
  // unread (CANCEL, after the same answer); the lean path reads the rest and discards it.
  const unread = new Set(["too large, sent in full", "two messages, the second too large"]);
  it.each(CASES.filter((c) => !unread.has(c.name)))(
    "answers $name over HTTP/2 exactly as connect-node",
    async (c) => {
      const before = claimed;
      const [mine, theirs] = [await http2Call(ports.lean, c), await http2Call(ports.plain, c)];
      expect(mine).toEqual(theirs);
      expect(claimed - before).toBe(1);
    },
  );
});
