import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { GenerationService } from "../../gen/inferd/v1/generation_pb.js";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { ModelService } from "../../gen/inferd/v1/model_pb.js";

/** The three inferd services the playground calls, over one Connect-Web transport. */
export interface PlaygroundClients {
  readonly models: Client<typeof ModelService>;
  readonly inference: Client<typeof InferenceService>;
  readonly generation: Client<typeof GenerationService>;
}

/**
 * Clients speaking the Connect protocol (JSON over fetch), which browsers can
 * stream, so WatchModels and Generate work without a proxy. A page hosted on
 * another origin needs that origin in the server's `--cors-origin`. `apiKey`, when
 * it returns a key, is sent as `Authorization: Bearer <key>` (servers run with `--api-key`).
 */
export function createPlaygroundClients(
  baseUrl: string,
  apiKey: () => string | null = () => null,
): PlaygroundClients {
  const bearer: Interceptor = (next) => (req) => {
    const key = apiKey();
    if (key) req.header.set("authorization", `Bearer ${key}`);
    return next(req);
  };
  const transport = createConnectTransport({ baseUrl, interceptors: [bearer] });
  return {
    models: createClient(ModelService, transport),
    inference: createClient(InferenceService, transport),
    generation: createClient(GenerationService, transport),
  };
}

/**
 * The server to talk to: `?api=<url>` when the page is hosted elsewhere, else the
 * origin that served the page (inferd itself).
 */
export function apiBaseUrl(location: Location): string {
  const api = new URLSearchParams(location.search).get("api");
  return api ? new URL(api).href.replace(/\/$/, "") : location.origin;
}
