import { concat, type HostileRow, invalidUtf8, rawRow, utf8, v1Row, v2Row } from "./hostile-row.js";
import { HOSTILE_MAX_REQUEST_BYTES } from "./rows-grpc.js";

const CHAT = "/v1/chat/completions";
const COMPLETIONS = "/v1/completions";
const chat = (over: Record<string, unknown>) =>
  JSON.stringify({
    model: "tiny_llama",
    max_tokens: 2,
    messages: [{ role: "user", content: "hi" }],
    ...over,
  });
const completion = (over: Record<string, unknown>) =>
  JSON.stringify({ model: "tiny_llama", max_tokens: 2, prompt: "hi", ...over });
const BAD = { status: 400 } as const;

const v1Rows: HostileRow[] = [
  v1Row("/v1 chat: not JSON", CHAT, "{", BAD),
  v1Row("/v1 chat: a JSON array", CHAT, "[]", BAD),
  v1Row(
    "/v1 chat: invalid UTF-8 in content",
    CHAT,
    invalidUtf8(chat({ messages: [{ role: "user", content: "h\u0000i" }] })),
    BAD,
  ),
  v1Row("/v1 chat: role robot", CHAT, chat({ messages: [{ role: "robot", content: "hi" }] }), {
    status: 400,
    message: "role",
  }),
  v1Row(
    "/v1 chat: user content null",
    CHAT,
    chat({ messages: [{ role: "user", content: null }] }),
    { status: 400, message: "content" },
  ),
  v1Row("/v1 chat: no messages", CHAT, chat({ messages: [] }), BAD),
  v1Row("/v1 chat: messages not an array", CHAT, chat({ messages: "hi" }), BAD),
  v1Row("/v1 chat: temperature above 2", CHAT, chat({ temperature: 2.5 }), {
    status: 400,
    message: "temperature",
  }),
  v1Row("/v1 chat: negative temperature", CHAT, chat({ temperature: -0.5 }), {
    status: 400,
    message: "temperature",
  }),
  v1Row("/v1 chat: top_p above 1", CHAT, chat({ top_p: 1.5 }), { status: 400, message: "top_p" }),
  v1Row("/v1 chat: max_tokens -1", CHAT, chat({ max_tokens: -1 }), {
    status: 400,
    message: "max_tokens",
  }),
  v1Row("/v1 chat: max_tokens a string", CHAT, chat({ max_tokens: "ten" }), {
    status: 400,
    message: "max_tokens",
  }),
  v1Row("/v1 chat: max_tokens fractional", CHAT, chat({ max_tokens: 1.5 }), {
    status: 400,
    message: "max_tokens",
  }),
  v1Row("/v1 chat: stream a string", CHAT, chat({ stream: "yes" }), {
    status: 400,
    message: "stream",
  }),
  v1Row("/v1 chat: no model", CHAT, chat({ model: undefined }), { status: 400, message: "model" }),
  v1Row("/v1 chat: an unknown model", CHAT, chat({ model: "nope" }), {
    status: 404,
    message: "nope",
  }),
  v1Row("/v1 chat: a path-traversal model", CHAT, chat({ model: "../tiny_llama" }), {
    status: 404,
    message: "not found; models: iris, tiny_llama",
  }),
  v1Row("/v1 chat: a Predict model", CHAT, chat({ model: "iris" }), BAD),
  v1Row("/v1 chat: GET", CHAT, "", { status: 405 }, { method: "GET" }),
  v1Row(
    "/v1 chat: a body over --max-request-bytes",
    CHAT,
    chat({ user: "u".repeat(HOSTILE_MAX_REQUEST_BYTES) }),
    { status: 413, message: "--max-request-bytes" },
  ),
  v1Row("/v1 completions: prompt a number", COMPLETIONS, completion({ prompt: 5 }), BAD),
  v1Row("/v1 completions: seed a string", COMPLETIONS, completion({ seed: "x" }), {
    status: 400,
    message: "seed",
  }),
  v1Row("/v1 completions: stop a number", COMPLETIONS, completion({ stop: 5 }), {
    status: 400,
    message: "stop",
  }),
  v1Row("/v1 completions: n = 2", COMPLETIONS, completion({ n: 2 }), { status: 400, message: "n" }),
  v1Row("/v1 models: POST", "/v1/models", "{}", { status: 405 }),
  v1Row("/v1 models: an unknown model", "/v1/models/nope", "", { status: 404 }, { method: "GET" }),
  v1Row("/v1: an unknown endpoint", "/v1/embeddings", "{}", { status: 404 }),
];

const GEN = "/v2/models/tiny_llama/generate";
const generateBody = (over: Record<string, unknown>) =>
  JSON.stringify({ text_input: "hi", parameters: { max_tokens: 2 }, ...over });

const v2Rows: HostileRow[] = [
  v2Row("/v2 generate: not JSON", GEN, "{", BAD),
  v2Row(
    "/v2 generate: invalid UTF-8",
    GEN,
    invalidUtf8(generateBody({ text_input: "h\u0000i" })),
    BAD,
  ),
  v2Row("/v2 generate: no text_input", GEN, "{}", { status: 400, message: "text_input" }),
  v2Row("/v2 generate: text_input a number", GEN, generateBody({ text_input: 5 }), {
    status: 400,
    message: "text_input",
  }),
  v2Row("/v2 generate: temperature -1", GEN, generateBody({ parameters: { temperature: -1 } }), {
    status: 400,
    message: "temperature",
  }),
  v2Row("/v2 generate: a Predict model", "/v2/models/iris/generate", generateBody({}), BAD),
  v2Row("/v2 generate: an unknown model", "/v2/models/nope/generate", generateBody({}), {
    status: 404,
  }),
  v2Row("/v2 generate: GET", GEN, "", { status: 405 }, { method: "GET" }),
  v2Row(
    "/v2 generate: a body over --max-request-bytes",
    GEN,
    generateBody({ text_input: "x".repeat(HOSTILE_MAX_REQUEST_BYTES) }),
    { status: 413 },
  ),
  v2Row(
    "/v2 ready: an unknown model",
    "/v2/models/nope/ready",
    "",
    { status: 404 },
    { method: "GET" },
  ),
  v2Row(
    "/v2 ready: a version that is not a number",
    "/v2/models/iris/versions/abc/ready",
    "",
    BAD,
    { method: "GET" },
  ),
  v2Row("/v2 ready: POST", "/v2/models/iris/ready", "{}", { status: 405 }),
  v2Row("/v2 load: a path-traversal name", "/v2/repository/models/..%2F..%2Fetc/load", "{}", BAD),
  v2Row("/v2 load: an absolute name", "/v2/repository/models/%2Fetc/load", "{}", BAD),
  v2Row("/v2 load: a malformed %-escape (names no model)", "/v2/repository/models/%zz/load", "{}", {
    status: 404,
    message: "%zz",
  }),
  v2Row("/v2 unload: an unknown model", "/v2/repository/models/nope/unload", "{}", { status: 404 }),
  v2Row("/v2 index: bad JSON", "/v2/repository/index", "{", BAD),
  v2Row("/v2: an unknown endpoint", "/v2/models/iris/explode", "{}", { status: 404 }),
  v2Row("/v2 health: POST on live", "/v2/health/live", "{}", { status: 405 }),
  v2Row(
    "/v2 infer: Inference-Header-Content-Length beyond the body",
    "/v2/models/iris/infer",
    concat(utf8('{"inputs":[]}')),
    BAD,
    {
      headers: {
        "inference-header-content-length": "999",
        "content-type": "application/octet-stream",
      },
    },
  ),
  v2Row(
    "/v2 infer: raw and typed contents mixed",
    "/v2/models/iris/infer",
    JSON.stringify({
      inputs: [
        {
          name: "features",
          datatype: "FP32",
          shape: [1, 4],
          data: [1, 2, 3, 4],
          parameters: { binary_data_size: 16 },
        },
      ],
    }),
    BAD,
  ),
];

const head = (extra: string) =>
  `POST /v1/chat/completions HTTP/1.1\r\nhost: a\r\n${extra}connection: close\r\n`;
const rawRows: HostileRow[] = [
  rawRow("HTTP/1.1: two Host headers", `${head("host: b\r\n")}content-length: 2\r\n\r\n{}`, BAD),
  rawRow(
    "HTTP/1.1: Content-Length with Transfer-Encoding",
    `${head("transfer-encoding: chunked\r\n")}content-length: 5\r\n\r\n0\r\n\r\n`,
    BAD,
  ),
  rawRow(
    "HTTP/1.1: bad chunk size",
    `${head("transfer-encoding: chunked\r\n")}\r\nzz\r\n{}\r\n0\r\n\r\n`,
    BAD,
  ),
  rawRow(
    "HTTP/1.1: a header line without a colon",
    `${head("garbage\r\n")}content-length: 2\r\n\r\n{}`,
    BAD,
  ),
  rawRow(
    "HTTP/1.1: two Content-Length values",
    `${head("content-length: 3\r\n")}content-length: 2\r\n\r\n{}`,
    BAD,
  ),
];

/** The plain HTTP rows: `/v1`, `/v2` and HTTP/1.1 framing. */
export const HTTP_ROWS: readonly HostileRow[] = [...v1Rows, ...v2Rows, ...rawRows];
