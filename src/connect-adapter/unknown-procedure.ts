import type { connectNodeAdapter } from "@connectrpc/connect-node";
import { pathOf } from "../http/http-route.js";
import { encodeGrpcMessage } from "./grpc-message-trailer.js";

/** connect-node's handler type, which it does not export by name. */
type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;

const GRPC = /^application\/grpc(-web)?([+;]|$)/i;
/** How long the request body may keep coming before the status is sent regardless. */
const REQUEST_END_WAIT_MS = 1000;
/** gRPC's UNIMPLEMENTED. */
const UNIMPLEMENTED = "12";

/**
 * connect-node's fallback for a path that names no procedure. gRPC and gRPC-Web
 * clients are owed a status, not an HTTP error: the spec's answer is HTTP 200 with
 * `grpc-status: 12` (UNIMPLEMENTED) in a trailers-only response, which strict
 * clients need to tell "no such method" from a broken proxy. Anything else (the
 * Connect protocol, plain HTTP) gets 404, as connect-node answers by default.
 */
export const unknownProcedure: NodeHandlerFn = (req, res) => {
  const type = req.headers["content-type"] ?? "";
  if (!GRPC.test(type)) {
    res.writeHead(404);
    res.end();
    return;
  }
  const message = `unknown method ${pathOf(req)}: list the services with server reflection (grpcurl list)`;
  let answered = false;
  const answer = () => {
    if (answered) return;
    answered = true;
    clearTimeout(timer);
    const headers = {
      "content-type": type,
      "grpc-status": UNIMPLEMENTED,
      "grpc-message": encodeGrpcMessage(message),
    };
    if ("stream" in res && !res.stream.headersSent) {
      // HTTP/2: one HEADERS frame that ends the stream, as "trailers-only" means.
      res.stream.respond({ ":status": 200, ...headers }, { endStream: true });
    } else {
      res.writeHead(200, headers);
      res.end();
    }
  };
  // Ending the response while the request is still open resets the HTTP/2 stream, and
  // grpc-js then reports the reset (Internal) instead of the status: read the request
  // to its end first, discarding it; a client still sending after a second gets it anyway.
  const timer = setTimeout(answer, REQUEST_END_WAIT_MS);
  req.once("end", answer);
  req.once("error", answer);
  req.resume();
};
