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

/** Node requests whose call reached an observing interceptor (logging, metrics). */
const observed = new WeakSet<object>();

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
 * it, so that the transport does not record it a second time. A context lookup and a
 * WeakSet insert; a no-op for calls without a Node request in their context.
 */
export function markObserved(req: UnaryRequest | StreamRequest): void {
  const nodeRequest = req.contextValues.get(nodeRequestKey);
  if (nodeRequest !== undefined) observed.add(nodeRequest);
}

/** True once an interceptor called {@link markObserved} for a call on this request. */
export function wasObserved(nodeRequest: object): boolean {
  return observed.has(nodeRequest);
}
