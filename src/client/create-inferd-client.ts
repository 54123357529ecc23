import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { GenerationService } from "../../gen/inferd/v1/generation_pb.js";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { ModelService } from "../../gen/inferd/v1/model_pb.js";

/** Wire protocol of an {@link InferdClient}; the server speaks all three on one port. */
export type InferdProtocol = "grpc" | "grpc-web" | "connect";

/** Settings every protocol shares. */
export interface InferdClientCommonOptions {
  /** Binary protobuf (default) or JSON; gRPC is always binary on inferd's side of the wire. */
  useBinaryFormat?: boolean;
  /** Connect interceptors, e.g. to add auth headers or log calls. */
  interceptors?: Interceptor[];
  /** Deadline for calls that pass no `timeoutMs` of their own. */
  defaultTimeoutMs?: number;
}

/**
 * gRPC needs HTTP/2 (h2c with prior knowledge for `http://`, ALPN for `https://`);
 * gRPC-Web and Connect also run over HTTP/1.1, which proxies and curl understand.
 * HTTP/2 is the default for all three.
 */
export type InferdClientOptions = InferdClientCommonOptions &
  (
    | { protocol: "grpc"; httpVersion?: "2" }
    | { protocol: "grpc-web" | "connect"; httpVersion?: "1.1" | "2" }
  );

/** Typed clients for inferd's three services over one transport. */
export interface InferdClient {
  readonly inference: Client<typeof InferenceService>;
  readonly models: Client<typeof ModelService>;
  readonly generation: Client<typeof GenerationService>;
  readonly transport: Transport;
  /** Closes the HTTP/2 connection (and its open streams) so that the process can exit. */
  close(): void;
}

/**
 * The public SDK: `createInferdClient("http://localhost:8080", { protocol: "grpc" })`
 * gives `inference.predict(...)`, `models.listModels({})`, `generation.generate(...)`
 * with the request and response types generated from `proto/inferd/v1`.
 *
 * It is a client, not part of the server core, so it imports `gen/` directly (the one
 * place outside `src/services/` that does): the generated schemas are the API it
 * exposes. All clients share one HTTP/2 connection, since HTTP/2 multiplexes calls.
 */
export function createInferdClient(baseUrl: string, options: InferdClientOptions): InferdClient {
  const common = {
    baseUrl,
    ...(options.useBinaryFormat !== undefined ? { useBinaryFormat: options.useBinaryFormat } : {}),
    ...(options.interceptors ? { interceptors: options.interceptors } : {}),
    ...(options.defaultTimeoutMs !== undefined
      ? { defaultTimeoutMs: options.defaultTimeoutMs }
      : {}),
  };
  const sessionManager =
    options.httpVersion === "1.1" ? undefined : new Http2SessionManager(baseUrl);
  const http = sessionManager
    ? { httpVersion: "2" as const, sessionManager }
    : { httpVersion: "1.1" as const };
  const transport =
    options.protocol === "grpc"
      ? createGrpcTransport({ ...common, ...(sessionManager ? { sessionManager } : {}) })
      : options.protocol === "grpc-web"
        ? createGrpcWebTransport({ ...common, ...http })
        : createConnectTransport({ ...common, ...http });
  return {
    inference: createClient(InferenceService, transport),
    models: createClient(ModelService, transport),
    generation: createClient(GenerationService, transport),
    transport,
    close: () => sessionManager?.abort(),
  };
}
