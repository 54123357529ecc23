import { gzipSync } from "node:zlib";
import {
  bytes,
  concat,
  connectJsonRow,
  connectProtoRow,
  env,
  type HostileRow,
  invalidUtf8,
  rpc,
  utf8,
} from "./hostile-row.js";
import { generate, irisTensorJson, PATHS, predict, predictJson } from "./hostile-samples.js";
import { envelope } from "./hostile-wire.js";
import { HOSTILE_MAX_REQUEST_BYTES } from "./rows-grpc.js";

const IA = { status: 400, code: "invalid_argument" } as const;
const J = connectJsonRow;

const jsonRows: HostileRow[] = [
  J("Connect JSON: not JSON", PATHS.predict, "{", IA),
  J("Connect JSON: an array", PATHS.predict, "[]", IA),
  J("Connect JSON: a number for the model name", PATHS.predict, '{"model":5}', IA),
  J("Connect JSON: an unknown field", PATHS.predict, predictJson({ bogus: 1 }), {
    ...IA,
    message: "bogus",
  }),
  J(
    "Connect JSON: invalid UTF-8 in the model name",
    PATHS.predict,
    invalidUtf8('{"model":"ir\u0000is"}'),
    IA,
  ),
  J("Connect JSON: an empty model name", PATHS.predict, predictJson({ model: "" }), {
    status: 404,
    code: "not_found",
    message: "not found; models: iris, tiny_llama",
  }),
  J("Connect JSON: a path-traversal model name", PATHS.predict, predictJson({ model: "../iris" }), {
    status: 404,
    code: "not_found",
    message: "not found; models: iris, tiny_llama",
  }),
  J("Connect JSON: an unknown model", PATHS.predict, predictJson({ model: "nope" }), {
    status: 404,
    code: "not_found",
    message: "nope",
  }),
  J("Connect JSON: an unknown version", PATHS.predict, predictJson({ version: 7 }), {
    status: 404,
    code: "not_found",
  }),
  J("Connect JSON: a negative version", PATHS.predict, predictJson({ version: -1 }), IA),
  J(
    "Connect JSON: too few elements for the shape",
    PATHS.predict,
    irisTensorJson({ floatData: [1, 2, 3] }),
    IA,
  ),
  J(
    "Connect JSON: too many elements for the shape",
    PATHS.predict,
    irisTensorJson({ shape: [1, 4], floatData: [1, 2, 3, 4, 5] }),
    IA,
  ),
  J("Connect JSON: a negative dimension", PATHS.predict, irisTensorJson({ shape: [-1, 4] }), IA),
  J(
    "Connect JSON: a rank-1 tensor for a rank-2 input",
    PATHS.predict,
    irisTensorJson({ shape: [4] }),
    IA,
  ),
  J(
    "Connect JSON: the wrong feature count",
    PATHS.predict,
    irisTensorJson({ shape: [1, 5], floatData: [1, 2, 3, 4, 5] }),
    IA,
  ),
  J("Connect JSON: a fractional dimension", PATHS.predict, irisTensorJson({ shape: [1, 4.5] }), IA),
  J(
    "Connect JSON: NaN where an int is expected",
    PATHS.predict,
    irisTensorJson({ shape: ["NaN", 4] }),
    IA,
  ),
  J(
    "Connect JSON: a string in float data",
    PATHS.predict,
    irisTensorJson({ floatData: ["a", 1, 2, 3] }),
    IA,
  ),
  J(
    "Connect JSON: an unknown dtype",
    PATHS.predict,
    irisTensorJson({ dtype: "DATA_TYPE_BOGUS" }),
    IA,
  ),
  J(
    "Connect JSON: an int64 tensor for a float input",
    PATHS.predict,
    irisTensorJson({
      dtype: "DATA_TYPE_INT64",
      floatData: undefined,
      int64Data: ["1", "2", "3", "4"],
    }),
    IA,
  ),
  J(
    "Connect JSON: an unspecified dtype and no data",
    PATHS.predict,
    irisTensorJson({ dtype: "DATA_TYPE_UNSPECIFIED", floatData: undefined }),
    IA,
  ),
  J(
    "Connect JSON: an unknown input name",
    PATHS.predict,
    JSON.stringify({
      model: "iris",
      inputs: { wrong: { dtype: "DATA_TYPE_FLOAT32", shape: [1, 4], floatData: [1, 2, 3, 4] } },
    }),
    IA,
  ),
  J("Connect JSON: no inputs", PATHS.predict, predictJson({ inputs: {} }), IA),
  J("Connect JSON: an unknown output name", PATHS.predict, predictJson({ outputs: ["nope"] }), IA),
  J(
    "Connect JSON: raw data of the wrong length",
    PATHS.predict,
    irisTensorJson({ floatData: undefined, rawData: "AAAA" }),
    IA,
  ),
  J(
    "Connect JSON: a body over --max-request-bytes",
    PATHS.predict,
    predictJson({ requestId: "x".repeat(HOSTILE_MAX_REQUEST_BYTES) }),
    { status: 429, code: "resource_exhausted", message: "--max-request-bytes" },
    {},
  ),
  J("Connect JSON: a malformed connect-timeout-ms", PATHS.predict, predictJson(), IA, {
    headers: { "connect-timeout-ms": "soon" },
  }),
  J(
    "Connect JSON: connect-protocol-version 2",
    PATHS.predict,
    predictJson(),
    { ...IA, message: 'Connect-Protocol-Version must be "1": got "2"' },
    { headers: { "connect-protocol-version": "2" } },
  ),
  J(
    "Connect JSON: connect-protocol-version 2, gzip body (connect-node's path)",
    PATHS.predict,
    gzipSync(predictJson()),
    { ...IA, message: 'Connect-Protocol-Version must be "1": got "2"' },
    { headers: { "connect-protocol-version": "2", "content-encoding": "gzip" } },
  ),
  J(
    "Connect JSON: an unknown content-encoding",
    PATHS.predict,
    predictJson(),
    { status: 501, code: "unimplemented", message: "snappy" },
    { headers: { "content-encoding": "snappy" } },
  ),
  J("Connect JSON: gzip declared, plain text sent", PATHS.predict, predictJson(), IA, {
    headers: { "content-encoding": "gzip" },
  }),
  J(
    "Connect JSON: a gzip bomb over --max-request-bytes",
    PATHS.predict,
    gzipSync(predictJson({ requestId: " ".repeat(4 * HOSTILE_MAX_REQUEST_BYTES) })),
    { status: 429, code: "resource_exhausted" },
    { headers: { "content-encoding": "gzip" } },
  ),
  J("Connect JSON: an unknown method", "/inferd.v1.InferenceService/Explode", predictJson(), {
    status: 404,
  }),
  J("Connect JSON: an unknown service", "/evil.v1.Nope/Predict", predictJson(), { status: 404 }),
  J(
    "Connect JSON: text/plain",
    PATHS.predict,
    predictJson(),
    { status: 415 },
    { headers: { "content-type": "text/plain" } },
  ),
  J(
    "Connect JSON: GET on a method with side effects",
    `${PATHS.predict}?encoding=json&message=%7B%7D`,
    "",
    { status: 405 },
    { method: "GET" },
  ),
  J(
    "Connect JSON: PUT on a method",
    PATHS.predict,
    predictJson(),
    { status: 405 },
    { method: "PUT" },
  ),
  J("Connect JSON: BatchPredict with a non-array", PATHS.batchPredict, '{"requests":5}', IA),
  J("Connect JSON: Tokenize on a Predict model", PATHS.tokenize, '{"model":"iris","text":"hi"}', {
    status: 400,
    code: "failed_precondition",
  }),
  J("Connect JSON: UnloadModel of an empty name", PATHS.unloadModel, '{"name":""}', IA),
  J("Connect JSON: LoadModel of an absolute path", PATHS.loadModel, '{"name":"/etc"}', IA),
  J("Connect JSON: LoadModel of an unknown model", PATHS.loadModel, '{"name":"nope"}', {
    status: 404,
    code: "not_found",
  }),
  J("Connect JSON: priority beyond int32", PATHS.predict, predictJson({ priority: 2 ** 40 }), IA),
];

const streamJson = rpc("connect-json", "application/connect+json");
const streamProto = rpc("connect-proto", "application/connect+proto");
const END_IA = { status: 200, code: "invalid_argument" } as const;

const protoRows: HostileRow[] = [
  connectProtoRow(
    "Connect binary: garbage protobuf",
    PATHS.predict,
    bytes(0xff, 0xff, 0xff, 0xff),
    IA,
  ),
  connectProtoRow("Connect binary: a truncated varint", PATHS.predict, bytes(0x10, 0xff), IA),
  connectProtoRow(
    "Connect binary: a string field longer than the message",
    PATHS.predict,
    bytes(0x0a, 0x40, 0x69),
    IA,
  ),
  connectProtoRow(
    "Connect binary: a string sent as a varint",
    PATHS.predict,
    bytes(0x08, 0x01),
    IA,
  ),
  connectProtoRow(
    "Connect binary: invalid UTF-8 in the model name",
    PATHS.predict,
    concat(bytes(0x0a, 0x03, 0x69, 0xff, 0xfe)),
    IA,
  ),
  connectProtoRow(
    "Connect binary: a valid request cut in half",
    PATHS.predict,
    predict().slice(0, 20),
    IA,
  ),
  connectProtoRow(
    "Connect binary: a body over --max-request-bytes",
    PATHS.predict,
    predict({ requestId: "y".repeat(HOSTILE_MAX_REQUEST_BYTES) }),
    { status: 429, code: "resource_exhausted", message: "--max-request-bytes" },
    {},
  ),
  connectProtoRow(
    "Connect binary: br declared, garbage sent",
    PATHS.predict,
    bytes(0x4b, 0x6c, 0xb4, 0xa5),
    IA,
    {
      headers: { "content-encoding": "br" },
    },
  ),
  connectProtoRow("Connect binary: an unknown model", PATHS.predict, predict({ model: "nope" }), {
    status: 404,
    code: "not_found",
  }),
  connectProtoRow(
    "Connect binary: an element count mismatch",
    PATHS.predict,
    predict({ inputs: { features: { dtype: 1, shape: [2, 4], floatData: [1, 2, 3, 4] } } }),
    IA,
  ),
  connectProtoRow(
    "Connect binary: application/proto over HTTP/2, garbage",
    PATHS.predict,
    bytes(0xff, 0xff),
    IA,
    { http2: true },
  ),
  streamProto(
    "Connect stream: Generate garbage protobuf",
    PATHS.generate,
    env(bytes(0xff, 0xff, 0xff)),
    END_IA,
  ),
  streamProto(
    "Connect stream: Generate reserved flag 0x80 on a request",
    PATHS.generate,
    envelope(generate(), 0x80),
    END_IA,
  ),
  streamProto(
    "Connect stream: Generate reserved flag 0x04 on a request",
    PATHS.generate,
    envelope(generate(), 0x04),
    { ...END_IA, message: "received unexpected payload format 4" },
  ),
  streamProto(
    "Connect stream: Generate connect-protocol-version 2",
    PATHS.generate,
    env(generate()),
    { ...END_IA, message: 'Connect-Protocol-Version must be "1": got "2"' },
    { headers: { "connect-protocol-version": "2" } },
  ),
  streamProto(
    "Connect stream: Generate compressed flag without an encoding",
    PATHS.generate,
    envelope(generate(), 1),
    END_IA,
  ),
  streamProto(
    "Connect stream: Generate a truncated envelope",
    PATHS.generate,
    bytes(0, 0, 0, 0, 50, 1, 2),
    END_IA,
  ),
  streamProto(
    "Connect stream: WatchModels garbage protobuf",
    PATHS.watchModels,
    env(bytes(0xff, 0xff)),
    END_IA,
  ),
  streamJson("Connect stream: Generate bad JSON", PATHS.generate, env(utf8("{")), END_IA),
  streamJson(
    "Connect stream: Generate invalid UTF-8 JSON",
    PATHS.generate,
    env(invalidUtf8('{"model":"tiny_llama","prompt":"h\u0000i"}')),
    END_IA,
  ),
  streamJson(
    "Connect stream: Generate a Predict model",
    PATHS.generate,
    env(utf8('{"model":"iris","prompt":"hi"}')),
    { status: 200, code: "failed_precondition" },
  ),
];

/** Connect rows: unary JSON and binary, and server streams in both codecs. */
export const CONNECT_ROWS: readonly HostileRow[] = [...jsonRows, ...protoRows];
