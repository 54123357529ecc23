import { invalidArgument } from "../../errors/inferd-error.js";
import { isGenerationFinish } from "../../generation/generation-chunk.js";
import type { StartedGeneration, TextGenerator } from "../../generation/text-generator.js";
import { cutStalledResponse } from "../cut-stalled-response.js";
import { sendJson } from "../http-route.js";
import { createSseWriter } from "../sse-writer.js";
import { type GenerateBody, generateToCall, parseGenerateBody } from "./generate-request.js";
import { MODEL_ROUTE } from "./oip-path.js";
import type { OipCall, OipFeature } from "./oip-router.js";

/**
 * Triton's generate extension over the generation engine (`TextGenerator`, the same
 * path as Generate and /v1): `POST /v2/models/{m}[/versions/{v}]/generate` answers
 * `{model_name, model_version, text_output}` once; `/generate_stream` sends one
 * server-sent event of that shape per text delta and ends with the stream (no
 * terminator event). As Triton's vLLM backend does, the whole answer starts with
 * the prompt unless `exclude_input_in_output` is true; streamed deltas never repeat it.
 * Request errors come before the first byte, as JSON with their status; an error
 * mid-stream is a last `data: {"error": ...}` event.
 */
export function generateFeature(generator: TextGenerator): OipFeature {
  return {
    extensions: ["generate"],
    endpoints: [
      { route: `${MODEL_ROUTE}/generate`, method: "POST", handle: (c) => generate(c, false) },
      { route: `${MODEL_ROUTE}/generate_stream`, method: "POST", handle: (c) => generate(c, true) },
    ],
  };

  async function generate(call: OipCall, stream: boolean): Promise<void> {
    const body = parseGenerateBody(await call.body());
    if (body.stream !== undefined && body.stream !== stream) {
      throw invalidArgument(
        `stream ${body.stream} does not fit this endpoint: use /${body.stream ? "generate_stream" : "generate"}`,
      );
    }
    const started = await generator.start(
      {
        ...generateToCall(body, call.model, call.version),
        client: call.client,
        // Unread past --stream-stall-timeout-ms, the SSE writer waits on the socket for good.
        onStall: () => cutStalledResponse(call.req, call.res),
      },
      call.signal,
    );
    if (stream) await streamText(call, started);
    else await wholeText(call, started, body);
  }
}

function head(started: StartedGeneration) {
  return { model_name: started.model, model_version: String(started.version) };
}

async function streamText(call: OipCall, started: StartedGeneration): Promise<void> {
  const sse = createSseWriter(call.res);
  for await (const chunk of started.chunks) {
    if (!isGenerationFinish(chunk)) {
      // Tokens whose bytes are held back (half a UTF-8 character) make no event.
      if (chunk.text !== "") await sse.send({ ...head(started), text_output: chunk.text });
    } else if (chunk.finishReason !== "cancelled") {
      sse.end();
    }
  }
}

async function wholeText(
  call: OipCall,
  started: StartedGeneration,
  body: GenerateBody,
): Promise<void> {
  let text = body.exclude_input_in_output === true ? "" : body.text_input;
  for await (const chunk of started.chunks) {
    if (!isGenerationFinish(chunk)) text += chunk.text;
    else if (chunk.finishReason !== "cancelled") {
      sendJson(call.req, call.res, 200, { ...head(started), text_output: text });
    }
  }
}
