import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { type ContextValues, createContextKey } from "@connectrpc/connect";
import { cutStalledResponse } from "../http/cut-stalled-response.js";

type NodeRequest = IncomingMessage | Http2ServerRequest;

/** Context key holding the Node request a connect-node call came in on (undefined elsewhere). */
const stallRequestKey = createContextKey<NodeRequest | undefined>(undefined, {
  description: "inferd node request to cut on a stall",
});

/**
 * Puts the call's Node request into its context values, for connect-node's
 * `contextValues`, so that {@link stallCutOf} can end the exchange later. It runs
 * for every call, so it only stores the request: the cut is built by the few calls
 * that need one (Generate).
 */
export function withStallCut(values: ContextValues, req: NodeRequest): ContextValues {
  return values.set(stallRequestKey, req);
}

/**
 * The `onStall` hook of a generation call (`GenerationRequest.onStall`) for a
 * handler's context: it ends the call's exchange at once ({@link cutStalledResponse}:
 * an HTTP/2 stream is reset ENHANCE_YOUR_CALM, resource_exhausted on the client).
 * Why: a handler whose client stopped reading cannot end the call itself while
 * connect-node awaits a write the client never takes. Undefined off connect-node.
 */
export function stallCutOf(values: ContextValues): (() => void) | undefined {
  const req = values.get(stallRequestKey);
  return req && (() => cutStalledResponse(req));
}
