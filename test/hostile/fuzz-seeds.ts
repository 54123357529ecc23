import { env, utf8 } from "./hostile-row.js";
import { generate, modelInfer, PATHS, predict, predictJson } from "./hostile-samples.js";
import type { WireRequest } from "./hostile-wire.js";

/** A valid request the fuzz mutates, and how it goes on the wire. */
export interface FuzzSeed {
  readonly protocol: string;
  readonly request: WireRequest;
  readonly overHttp2: boolean;
  /** The body is length-prefixed messages (gRPC, gRPC-Web, Connect streams). */
  readonly framed: boolean;
}

const post = (path: string, contentType: string, body: Uint8Array, extra = {}): WireRequest => ({
  method: "POST",
  path,
  headers: { "content-type": contentType, ...extra },
  body,
});
const GRPC = { te: "trailers" };

/**
 * One valid request per protocol, all answered OK by a server holding the fixture
 * models `iris` and `tiny_llama` (generation kept to one token).
 */
export const FUZZ_SEEDS: readonly FuzzSeed[] = [
  {
    protocol: "grpc",
    request: post(PATHS.predict, "application/grpc", env(predict()), GRPC),
    overHttp2: true,
    framed: true,
  },
  {
    protocol: "grpc-generate",
    request: post(PATHS.generate, "application/grpc", env(generate({ maxTokens: 1 })), GRPC),
    overHttp2: true,
    framed: true,
  },
  {
    protocol: "oip-grpc",
    request: post(PATHS.modelInfer, "application/grpc", env(modelInfer()), GRPC),
    overHttp2: true,
    framed: true,
  },
  {
    protocol: "grpc-web",
    request: post(PATHS.predict, "application/grpc-web+proto", env(predict())),
    overHttp2: false,
    framed: true,
  },
  {
    protocol: "connect-json",
    request: post(PATHS.predict, "application/json", utf8(predictJson())),
    overHttp2: false,
    framed: false,
  },
  {
    protocol: "connect-proto",
    request: post(PATHS.predict, "application/proto", predict()),
    overHttp2: true,
    framed: false,
  },
  {
    protocol: "connect-stream",
    request: post(PATHS.generate, "application/connect+proto", env(generate({ maxTokens: 1 }))),
    overHttp2: false,
    framed: true,
  },
  {
    protocol: "v1",
    request: post(
      "/v1/chat/completions",
      "application/json",
      utf8(
        JSON.stringify({
          model: "tiny_llama",
          max_tokens: 1,
          messages: [{ role: "user", content: "hi" }],
        }),
      ),
    ),
    overHttp2: false,
    framed: false,
  },
  {
    protocol: "v2",
    request: post(
      "/v2/models/tiny_llama/generate",
      "application/json",
      utf8(JSON.stringify({ text_input: "hi", parameters: { max_tokens: 1 } })),
    ),
    overHttp2: false,
    framed: false,
  },
];
