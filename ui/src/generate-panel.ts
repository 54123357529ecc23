import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import {
  FinishReason,
  type GenerateRequestSchema,
  type GenerationService,
} from "../../gen/inferd/v1/generation_pb.js";
import type { Model } from "../../gen/inferd/v1/model_pb.js";
import { byId } from "./dom.js";
import { createErrorView } from "./error-view.js";

/** The Generate form: prompt and knobs, streamed text, and Stop. */
export interface GeneratePanel {
  show(model: Model): void;
}

type GenerateInit = MessageInitShape<typeof GenerateRequestSchema>;

/**
 * Streams Generate into the page: each response's text is appended as its own
 * text node the moment it arrives. Stop aborts the call (AbortController), which
 * cancels the generation on the server; the status then reads "stopped (cancelled)".
 */
export function createGeneratePanel(client: Client<typeof GenerationService>): GeneratePanel {
  const start = byId("generate-button", HTMLButtonElement);
  const stop = byId("stop-button", HTMLButtonElement);
  const output = byId("generate-output", HTMLElement);
  const status = byId("generate-status", HTMLElement);
  const errors = createErrorView(byId("generate-error", HTMLElement));
  const setStatus = (state: string, text: string) => {
    status.dataset.state = state;
    status.textContent = text;
  };
  let model = "";
  let running: AbortController | undefined;
  stop.addEventListener("click", () => running?.abort());
  start.addEventListener("click", async () => {
    const controller = new AbortController();
    running = controller;
    errors.clear();
    output.replaceChildren();
    start.disabled = true;
    stop.disabled = false;
    setStatus("streaming", "streaming…");
    try {
      let last: { finishReason: FinishReason; completionTokens: number; tps: number } | undefined;
      for await (const chunk of client.generate(readRequest(model), {
        signal: controller.signal,
      })) {
        if (chunk.text !== "") output.append(chunk.text);
        if (chunk.finishReason !== FinishReason.UNSPECIFIED) {
          const tps = chunk.timings?.tokensPerSecond ?? 0;
          last = {
            finishReason: chunk.finishReason,
            completionTokens: chunk.usage?.completionTokens ?? 0,
            tps,
          };
        }
      }
      const reason = last ? FinishReason[last.finishReason].toLowerCase() : "end of stream";
      const usage = last
        ? `, ${last.completionTokens} tokens, ${last.tps.toFixed(1)} tokens/s`
        : "";
      setStatus("done", `done (${reason}${usage})`);
    } catch (error) {
      if (controller.signal.aborted || ConnectError.from(error).code === Code.Canceled) {
        setStatus("stopped", "stopped (cancelled)");
      } else {
        setStatus("error", "failed");
        errors.show(error);
      }
    } finally {
      running = undefined;
      start.disabled = false;
      stop.disabled = true;
    }
  });
  return {
    show(next) {
      model = next.name;
      errors.clear();
    },
  };
}

/** The request from the form: optional knobs are sent only when filled in. */
function readRequest(model: string): GenerateInit {
  const text = (id: string) => byId(id, HTMLInputElement).value.trim();
  const number = (id: string) => (text(id) === "" ? undefined : Number(text(id)));
  const request: GenerateInit = {
    model,
    prompt: byId("prompt", HTMLTextAreaElement).value,
    ignoreEos: byId("ignore-eos", HTMLInputElement).checked,
  };
  const maxTokens = number("max-tokens");
  const temperature = number("temperature");
  // int64: read the digits themselves, which a Number would round past 2^53.
  const seed = text("seed") === "" ? undefined : BigInt(text("seed"));
  if (maxTokens !== undefined) request.maxTokens = maxTokens;
  if (temperature !== undefined) request.temperature = temperature;
  if (seed !== undefined) request.seed = seed;
  return request;
}
