import type { connectNodeAdapter } from "@connectrpc/connect-node";
import { createCorsPolicy } from "../http/cors-policy.js";
import type { HttpRoute } from "../http/http-route.js";
import { dropUnschedulableDeadline } from "./deadline-headers.js";
import { useSpecGrpcMessage } from "./grpc-message-trailer.js";
import type { NodeRequestHandler } from "./one-port-listener.js";

export interface RequestHandlerOptions {
  /** Allowed browser origins ("*" for any); empty disables CORS. */
  corsOrigins: readonly string[];
  /** Plain HTTP routes, tried in order before Connect. */
  httpRoutes: readonly HttpRoute[];
  /** The Connect adapter serving gRPC, gRPC-Web and Connect. */
  connect: ReturnType<typeof connectNodeAdapter>;
  /** Called with each request handed to Connect, before it (see `createRefusalObserver`). */
  observeRefusals?: NodeRequestHandler;
}

/**
 * The one request handler behind every protocol on the port: CORS first (it may
 * answer a preflight), then the plain HTTP routes, then Connect (gRPC status
 * messages re-encoded the spec's way, see {@link useSpecGrpcMessage}), watched for
 * the calls connect-es refuses before any interceptor runs.
 */
export function createRequestHandler(options: RequestHandlerOptions): NodeRequestHandler {
  const cors = createCorsPolicy(options.corsOrigins);
  return (req, res) => {
    if (cors(req, res)) return;
    for (const route of options.httpRoutes) if (route(req, res)) return;
    useSpecGrpcMessage(req, res);
    dropUnschedulableDeadline(req.headers);
    options.observeRefusals?.(req, res);
    options.connect(req, res);
  };
}
