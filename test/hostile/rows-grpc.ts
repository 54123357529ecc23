import { bytes, env, grpcRow, grpcWebRow, type HostileRow, utf8 } from "./hostile-row.js";
import { generate, PATHS, predict } from "./hostile-samples.js";
import { envelope } from "./hostile-wire.js";

/** The server's `--max-request-bytes` in the hostile suite. */
export const HOSTILE_MAX_REQUEST_BYTES = 65_536;

const IA = { code: "invalid_argument" } as const;
const GARBAGE = bytes(0xff, 0xff, 0xff, 0xff);
const OK = predict();

/** Framing faults every length-prefixed protocol must refuse alike: [name, body, expectation]. */
const FRAMING: readonly (readonly [string, Uint8Array, HostileRow["expect"]])[] = [
  ["garbage protobuf", env(GARBAGE), IA],
  ["a truncated varint", env(bytes(0x10, 0xff, 0xff)), IA],
  ["a string field longer than the message", env(bytes(0x0a, 0x20, 0x69)), IA],
  ["a string field sent as a varint (wrong wire type)", env(bytes(0x08, 0x01)), IA],
  ["an end-group tag with no group", env(bytes(0x0c)), IA],
  ["field number 0", env(bytes(0x00, 0x01)), IA],
  ["a truncated envelope prefix (3 bytes)", bytes(0, 0, 0), IA],
  ["a declared length beyond the body", envelope(OK, 0, OK.byteLength + 50), IA],
  [
    "a declared length shorter than the body (trailing bytes)",
    envelope(OK, 0, OK.byteLength - 3),
    IA,
  ],
  [
    "reserved flag bit 0x80 on a request message",
    envelope(OK, 0x80),
    { ...IA, message: "received unexpected payload format 128" },
  ],
  ["reserved flag bit 0x02", envelope(OK, 0x02), IA],
  ["the compressed flag without grpc-encoding", envelope(OK, 0x01), IA],
  [
    "a declared length over --max-request-bytes",
    envelope(new Uint8Array(16), 0, HOSTILE_MAX_REQUEST_BYTES + 1),
    { code: "resource_exhausted", message: "--max-request-bytes" },
  ],
  [
    "a declared length of 4 GiB - 1",
    envelope(new Uint8Array(16), 0, 0xffffffff),
    { code: "resource_exhausted" },
  ],
  [
    "two request messages on a unary method",
    Buffer.concat([env(OK), env(OK)]),
    { ...IA, message: "received extra input message" },
  ],
];

const framingRows = (make: typeof grpcRow, label: string, path: string): HostileRow[] =>
  FRAMING.map(([name, body, expect]) => make(`${label}: ${name}`, path, body, expect));

const grpcHeaderRows: HostileRow[] = [
  grpcRow("gRPC: grpc-timeout with no unit", PATHS.predict, env(OK), IA, {
    headers: { "grpc-timeout": "100" },
  }),
  grpcRow("gRPC: grpc-timeout in words", PATHS.predict, env(OK), IA, {
    headers: { "grpc-timeout": "soon" },
  }),
  grpcRow("gRPC: grpc-timeout of 9 digits", PATHS.predict, env(OK), IA, {
    headers: { "grpc-timeout": "123456789S" },
  }),
  grpcRow("gRPC: a negative grpc-timeout", PATHS.predict, env(OK), IA, {
    headers: { "grpc-timeout": "-1S" },
  }),
  grpcRow(
    "gRPC: grpc-timeout of one nanosecond",
    PATHS.predict,
    env(OK),
    { code: "deadline_exceeded" },
    { headers: { "grpc-timeout": "1n" } },
  ),
  grpcRow(
    "gRPC: unknown grpc-encoding",
    PATHS.predict,
    envelope(OK, 1),
    { code: "unimplemented" },
    { headers: { "grpc-encoding": "snappy" } },
  ),
  grpcRow("gRPC: gzip declared, garbage sent", PATHS.predict, envelope(GARBAGE, 1), IA, {
    headers: { "grpc-encoding": "gzip" },
  }),
  grpcRow(
    "gRPC: gzip negotiated, garbage sent uncompressed (connect-node's path)",
    PATHS.predict,
    env(GARBAGE),
    IA,
    { headers: { "grpc-encoding": "gzip" } },
  ),
  grpcRow(
    "gRPC OIP: gzip negotiated, garbage sent uncompressed",
    PATHS.modelInfer,
    env(GARBAGE),
    IA,
    { headers: { "grpc-encoding": "gzip" } },
  ),
  grpcRow(
    "gRPC+json: the compressed flag without grpc-encoding",
    PATHS.predict,
    envelope(utf8("{}"), 1),
    IA,
    { headers: { "content-type": "application/grpc+json" } },
  ),
  grpcRow("gRPC+json: reserved flag bit 0x80", PATHS.predict, envelope(utf8("{}"), 0x81), IA, {
    headers: { "content-type": "application/grpc+json" },
  }),
  grpcRow("gRPC: unknown method", "/inferd.v1.InferenceService/Explode", env(OK), {
    code: "unimplemented",
  }),
  grpcRow("gRPC: unknown service", "/evil.v1.Nope/Predict", env(OK), { code: "unimplemented" }),
  grpcRow("gRPC: a path with no method", "/inferd.v1.InferenceService", env(OK), {
    code: "unimplemented",
  }),
  grpcRow(
    "gRPC: content-type application/grpc+bogus",
    PATHS.predict,
    env(OK),
    { status: 415 },
    { headers: { "content-type": "application/grpc+bogus" } },
  ),
  grpcRow(
    "gRPC: GET on a unary method",
    PATHS.predict,
    new Uint8Array(),
    { status: 405 },
    { method: "GET" },
  ),
  grpcRow("gRPC: an empty body on a unary method", PATHS.predict, new Uint8Array(), IA),
  grpcRow("gRPC: unknown model", PATHS.predict, env(predict({ model: "nope" })), {
    code: "not_found",
    message: "nope",
  }),
  grpcRow(
    "gRPC: empty model name (a lookup that finds nothing)",
    PATHS.predict,
    env(predict({ model: "" })),
    { code: "not_found", message: "not found; models: iris, tiny_llama" },
  ),
  grpcRow(
    "gRPC: a path-traversal model name (a lookup, never a path)",
    PATHS.predict,
    env(predict({ model: "../../etc" })),
    { code: "not_found", message: "not found; models: iris, tiny_llama" },
  ),
  grpcRow("gRPC: an unknown version", PATHS.predict, env(predict({ version: 99 })), {
    code: "not_found",
  }),
  grpcRow(
    "gRPC: invalid UTF-8 in the model name",
    PATHS.predict,
    env(Buffer.concat([bytes(0x0a, 0x03), bytes(0x69, 0xff, 0xfe)])),
    IA,
  ),
];

const streamRows: HostileRow[] = [
  grpcRow("gRPC PredictStream: garbage protobuf", PATHS.predictStream, env(GARBAGE), IA),
  grpcRow(
    "gRPC PredictStream: reserved flag bit 0x80",
    PATHS.predictStream,
    envelope(OK, 0x80),
    IA,
  ),
  grpcRow(
    "gRPC PredictStream: compressed flag without grpc-encoding",
    PATHS.predictStream,
    envelope(OK, 1),
    IA,
  ),
  grpcRow(
    "gRPC PredictStream: a truncated envelope",
    PATHS.predictStream,
    bytes(0, 0, 0, 0, 9, 1),
    IA,
  ),
  grpcRow("gRPC Generate: garbage protobuf", PATHS.generate, env(GARBAGE), IA),
  grpcRow(
    "gRPC Generate: a Predict model (not generative)",
    PATHS.generate,
    env(generate({ model: "iris" })),
    { code: "failed_precondition" },
  ),
  grpcRow("gRPC Generate: temperature -1", PATHS.generate, env(generate({ temperature: -1 })), IA),
  grpcRow("gRPC Generate: top_p 1.5", PATHS.generate, env(generate({ topP: 1.5 })), IA),
  grpcRow(
    "gRPC Generate: both a prompt and prompt token ids",
    PATHS.generate,
    env(generate({ promptTokenIds: [1, 2] })),
    IA,
  ),
  grpcRow(
    "gRPC Generate: a prompt token id out of the vocabulary",
    PATHS.generate,
    env(generate({ prompt: "", promptTokenIds: [99_999_999] })),
    IA,
  ),
  grpcRow("gRPC WatchModels: garbage protobuf", PATHS.watchModels, env(GARBAGE), IA),
  grpcRow("gRPC Health Check: garbage protobuf", PATHS.healthCheck, env(GARBAGE), IA),
  grpcRow(
    "gRPC LoadModel: path traversal",
    PATHS.loadModel,
    env(bytes(0x0a, 4, ...utf8("../x"))),
    IA,
  ),
  grpcRow(
    "gRPC UnloadModel: path traversal",
    PATHS.unloadModel,
    env(bytes(0x0a, 4, ...utf8("../x"))),
    IA,
  ),
  grpcRow(
    "gRPC UnloadModel: an absolute path",
    PATHS.unloadModel,
    env(bytes(0x0a, 4, ...utf8("/etc"))),
    IA,
  ),
  grpcRow("gRPC UnloadModel: empty name", PATHS.unloadModel, env(new Uint8Array()), IA),
  grpcRow("gRPC GetModel: unknown model", PATHS.getModel, env(bytes(0x0a, 4, ...utf8("nope"))), {
    code: "not_found",
  }),
];

const webRows: HostileRow[] = [
  grpcWebRow("gRPC-Web: bad grpc-timeout", PATHS.predict, env(OK), IA, {
    headers: { "grpc-timeout": "soon" },
  }),
  grpcWebRow("gRPC-Web: unknown method", "/inferd.v1.InferenceService/Explode", env(OK), {
    code: "unimplemented",
  }),
  grpcWebRow(
    "gRPC-Web: unknown grpc-encoding",
    PATHS.predict,
    envelope(OK, 1),
    { code: "unimplemented" },
    { headers: { "grpc-encoding": "snappy" } },
  ),
  grpcWebRow("gRPC-Web: Generate garbage protobuf", PATHS.generate, env(GARBAGE), IA),
  grpcWebRow(
    "gRPC-Web: Generate reserved flag 0x80",
    PATHS.generate,
    envelope(generate(), 0x80),
    IA,
  ),
  grpcWebRow(
    "gRPC-Web: gzip negotiated, garbage sent uncompressed",
    PATHS.predict,
    env(GARBAGE),
    IA,
    { headers: { "grpc-encoding": "gzip" } },
  ),
  grpcWebRow("gRPC-Web over HTTP/2: garbage protobuf", PATHS.predict, env(GARBAGE), IA, {
    http2: true,
  }),
];

/** gRPC and gRPC-Web rows: framing, headers, routing and message content. */
export const GRPC_ROWS: readonly HostileRow[] = [
  ...framingRows(grpcRow, "gRPC", PATHS.predict),
  ...grpcHeaderRows,
  ...streamRows,
  ...framingRows(grpcWebRow, "gRPC-Web", PATHS.predict),
  ...webRows,
];
