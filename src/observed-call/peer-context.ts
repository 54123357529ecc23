import {
  type ContextValues,
  createContextKey,
  createContextValues,
  type StreamRequest,
  type UnaryRequest,
} from "@connectrpc/connect";

/** Context key holding the remote address of the connection ("" when unknown). */
export const peerAddressKey = createContextKey<string>("", { description: "inferd peer address" });

/**
 * Context values carrying the socket's remote address, for connect-node's
 * `connectNodeAdapter({ contextValues: peerContextValues })`, so that
 * interceptors can log the peer.
 */
export function peerContextValues(req: {
  readonly socket?: { readonly remoteAddress?: string | undefined } | null;
}): ContextValues {
  return createContextValues().set(peerAddressKey, req.socket?.remoteAddress ?? "");
}

/**
 * The client's address: the first hop of `x-forwarded-for` when a proxy set it,
 * else the socket address from {@link peerContextValues}, else "".
 */
export function peerOf(req: UnaryRequest | StreamRequest): string {
  return peerFrom(req.header.get("x-forwarded-for"), req.contextValues.get(peerAddressKey));
}

/**
 * {@link peerOf} from its parts, for callers that have no Connect request (calls the
 * protocol refused before any interceptor ran): the first `x-forwarded-for` hop,
 * else the socket address.
 */
export function peerFrom(forwardedFor: string | null | undefined, socketAddress: string): string {
  const forwarded = forwardedFor?.split(",")[0]?.trim();
  return forwarded ? forwarded : socketAddress;
}
