import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GenerationService } from "../../gen/inferd/v1/generation_pb.js";
import type { ServerConfig } from "../../src/config/server-options.js";
import type { Logger } from "../../src/logging/logger.js";
import { type RunningInferd, startInferd } from "./start-inferd.js";

/** The production server with a gRPC GenerationService client on it. */
export interface GenerationServer extends RunningInferd {
  readonly generation: Client<typeof GenerationService>;
}

/**
 * {@link startInferd} serving `repository` in place (every model ready), plus the
 * GenerationService client the generation tests talk through. `close()` stops the
 * server; the repository is the caller's.
 */
export async function startGenerationServer(
  repository: string,
  config: Partial<ServerConfig> = {},
  logger?: Logger,
): Promise<GenerationServer> {
  const inferd = await startInferd({ repository, config, ...(logger && { logger }) });
  const transport = createGrpcTransport({ baseUrl: inferd.baseUrl });
  return { ...inferd, generation: createClient(GenerationService, transport) };
}
