/** What identifies a caller for fairness and per-client limits. */
export interface ClientParts {
  /** The API key's name, once named keys exist; absent with anonymous access. */
  readonly keyName?: string | undefined;
  /** The connection's socket address (never `x-forwarded-for`, which a client can forge). */
  readonly socketAddress: string;
}

/**
 * THE one rule naming a client for the generation engine's round-robin queue and
 * per-client cap: the API key's name when the call was authenticated by a named key,
 * else the connection's peer address. The socket address, not `x-forwarded-for`: a
 * forwarded header is the client's to write, so trusting it would let one client
 * pose as many and dodge its cap (behind a proxy, name keys to tell clients apart).
 * "" (unknown peer) is the engine's uncapped anonymous client.
 */
export function clientIdentity(parts: ClientParts): string {
  if (parts.keyName !== undefined && parts.keyName !== "") return `key:${parts.keyName}`;
  return parts.socketAddress === "" ? "" : `peer:${parts.socketAddress}`;
}

/** The API key's name inside a {@link clientIdentity}, the one its generated tokens are charged to. */
export function keyNameOfClient(client: string | undefined): string | undefined {
  return client?.startsWith("key:") ? client.slice("key:".length) : undefined;
}
