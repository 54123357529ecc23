import { ConnectError } from "@connectrpc/connect";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import { dropUnschedulableDeadline } from "../connect-adapter/deadline-headers.js";
import { useSpecGrpcMessage } from "../connect-adapter/grpc-message-trailer.js";
import { createCorsPolicy } from "../http/cors-policy.js";
import type { HttpRoute, NodeRequestHandler } from "../http/http-route.js";

/** Options of `createRequestHandler`. */
export interface RequestHandlerOptions {
  /** Allowed browser origins ("*" for any); empty disables CORS. */
  corsOrigins: readonly string[];
  /** Plain HTTP routes, tried in order before Connect. */
  httpRoutes: readonly HttpRoute[];
  /** The Connect adapter serving gRPC, gRPC-Web and Connect. */
  connect: ReturnType<typeof connectNodeAdapter>;
  /**
   * Sees each request bound for Connect first; a request it claims (returns true) is
   * its own to answer (the lean unary paths, see `createConnectUnaryPath` and
   * `createGrpcWebUnaryPath`). It runs after CORS, whose headers its answer keeps.
   */
  claimRequest?: (...args: Parameters<NodeRequestHandler>) => boolean;
  /** Called with each request handed to Connect, before it (see `createRefusalObserver`). */
  observeRefusals?: NodeRequestHandler;
}

/**
 * The one request handler behind every protocol on the port: a request with two Host
 * headers gets 400 (Node accepts it), then CORS (it may
 * answer a preflight), then the plain HTTP routes, then Connect (gRPC status
 * messages re-encoded the spec's way, see {@link useSpecGrpcMessage}), watched for
 * the calls connect-es refuses before any interceptor runs.
 */
export function createRequestHandler(options: RequestHandlerOptions): NodeRequestHandler {
  const cors = createCorsPolicy(options.corsOrigins);
  return (req, res) => {
    if (hasTwoHosts(req)) return refuseTwoHosts(res);
    if (cors(req, res)) return;
    for (const route of options.httpRoutes) if (route(req, res)) return;
    dropUnschedulableDeadline(req.headers);
    if (options.claimRequest?.(req, res)) return;
    useSpecGrpcMessage(req, res);
    options.observeRefusals?.(req, res);
    try {
      options.connect(req, res);
    } catch (error) {
      refuseUnservable(res, error);
    }
  };
}

/**
 * connect-node builds the call's URL from the Host or :authority header synchronously
 * and throws when there is none or it does not parse (an HTTP/1.0 request without
 * Host, `Host: [`): thrown from a "request" listener, that would take the process down.
 * Such a request gets 400 instead.
 */
function refuseUnservable(res: Parameters<NodeRequestHandler>[1], error: unknown): void {
  const reason = error instanceof ConnectError ? error.rawMessage : String(error);
  if (!res.headersSent) res.writeHead(400, { "content-type": "text/plain; charset=utf-8" });
  res.end(`cannot serve this request (give a valid Host or :authority header): ${reason}\n`);
}

/** RFC 9112 §3.2: a server must answer 400 to an HTTP/1.1 request with more than one Host. */
function hasTwoHosts(req: Parameters<NodeRequestHandler>[0]): boolean {
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]?.toLowerCase() === "host" && ++hosts > 1) return true;
  }
  return false;
}

function refuseTwoHosts(res: Parameters<NodeRequestHandler>[1]): void {
  res.writeHead(400, { "content-type": "text/plain; charset=utf-8", connection: "close" });
  res.end("more than one Host header (RFC 9112 section 3.2)\n");
}
