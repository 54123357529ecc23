import {
  type ContextValues,
  createContextKey,
  type StreamRequest,
  type UnaryRequest,
} from "@connectrpc/connect";

/** Context key holding the Node request a call came in on (undefined off connect-node). */
const nodeRequestKey = createContextKey<object | undefined>(undefined, {
  description: "inferd node request",
});

/**
 * Who records a Node request's call: the observing interceptors (logging, metrics),
 * or the transport, which recorded it as refused or cancelled before they ran.
 */
const recorder = new WeakMap<object, "interceptors" | "transport">();

/**
 * Puts the Node request into a call's context values, for connect-node's
 * `contextValues`, so that {@link markObserved} can tell the transport which
 * requests the interceptors saw.
 */
export function withNodeRequest(values: ContextValues, nodeRequest: object): ContextValues {
  return values.set(nodeRequestKey, nodeRequest);
}

/**
 * Marks the call's Node request as seen by an interceptor that will log or count
 * it, so that the transport does not record it a second time. Returns false when the
 * transport has recorded it already (its client left while connect-es was still
 * decompressing the body): the interceptor must then leave the call alone. A context
 * lookup and a WeakMap write; true for calls without a Node request in their context.
 */
export function markObserved(req: UnaryRequest | StreamRequest): boolean {
  const nodeRequest = req.contextValues.get(nodeRequestKey);
  if (nodeRequest === undefined) return true;
  if (recorder.get(nodeRequest) === "transport") return false;
  recorder.set(nodeRequest, "interceptors");
  return true;
}

/**
 * Claims a request's call for the transport to record; false when an interceptor
 * observes it (or the transport claimed it already).
 */
export function claimForTransport(nodeRequest: object): boolean {
  if (recorder.has(nodeRequest)) return false;
  recorder.set(nodeRequest, "transport");
  return true;
}

/** True once an interceptor called {@link markObserved} for a call on this request. */
export function wasObserved(nodeRequest: object): boolean {
  return recorder.get(nodeRequest) === "interceptors";
}
