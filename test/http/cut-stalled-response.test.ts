import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GenerateRequestSchema } from "../../gen/inferd/v1/generation_pb.js";
import { ModelService } from "../../gen/inferd/v1/model_pb.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

/**
 * A stream whose client reads nothing is cancelled after --stream-stall-timeout-ms;
 * the exchange must go with it. Before the cut, the generation stopped but the
 * writer (connect-node's, the SSE writer) kept awaiting a write the client never
 * took, so the HTTP/2 stream and the version's lease stayed held until the client left.
 * The client here grants no flow-control window (initialWindowSize 0), so nothing it
 * is sent leaves the server, and asks for logprobs, so the unsent bytes soon pass
 * the stream's buffer and the writer waits.
 */
describe("a stream its client never reads", () => {
  let inferd: RunningInferd;
  let session: http2.ClientHttp2Session;

  beforeAll(async () => {
    inferd = await startInferd({ models: ["tiny_llama"], config: { streamStallTimeoutMs: 300 } });
    session = http2.connect(inferd.baseUrl, { settings: { initialWindowSize: 0 } });
    session.on("error", () => {});
  });

  afterAll(async () => {
    session?.destroy();
    await inferd?.close();
  });

  const inFlight = async () => {
    const models = createClient(ModelService, createGrpcTransport({ baseUrl: inferd.baseUrl }));
    return (await models.getModel({ name: "tiny_llama" })).model?.versions[0]?.inFlight;
  };

  /**
   * Opens `path` with `body`, reads nothing, and resolves with the stream's RST_STREAM
   * code, or "still open" after 15 s (a generous bound for a 300 ms stall timeout).
   */
  const rstCodeOf = (headers: http2.OutgoingHttpHeaders, body: Uint8Array) =>
    new Promise<number | "still open">((resolve) => {
      const stream = session.request({ ":method": "POST", ...headers });
      const timer = setTimeout(() => resolve("still open"), 15_000);
      stream.on("error", () => {});
      stream.on("close", () => {
        clearTimeout(timer);
        resolve(stream.rstCode ?? "still open");
      });
      stream.end(body);
    });

  it("resets a Generate stream ENHANCE_YOUR_CALM and releases the version", async () => {
    const request = toBinary(
      GenerateRequestSchema,
      create(GenerateRequestSchema, {
        model: "tiny_llama",
        prompt: "Once upon a time",
        maxTokens: 200,
        ignoreEos: true,
        logprobs: 20,
      }),
    );
    const framed = new Uint8Array(5 + request.length);
    new DataView(framed.buffer).setUint32(1, request.length);
    framed.set(request, 5);
    const code = await rstCodeOf(
      {
        ":path": "/inferd.v1.GenerationService/Generate",
        "content-type": "application/grpc",
        te: "trailers",
      },
      framed,
    );
    expect(code).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    await expect.poll(inFlight, { timeout: 10_000 }).toBe(0);
  }, 30_000);

  it("resets a /v1 server-sent-events stream ENHANCE_YOUR_CALM and releases the version", async () => {
    const body = {
      model: "tiny_llama",
      messages: [{ role: "user", content: "Once upon a time" }],
      max_tokens: 200,
      stream: true,
      logprobs: true,
      top_logprobs: 20,
      ignore_eos: true,
    };
    const code = await rstCodeOf(
      { ":path": "/v1/chat/completions", "content-type": "application/json" },
      new TextEncoder().encode(JSON.stringify(body)),
    );
    expect(code).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    await expect.poll(inFlight, { timeout: 10_000 }).toBe(0);
  }, 30_000);
});
