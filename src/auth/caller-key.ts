import { createContextKey } from "@connectrpc/connect";

/**
 * Context key holding the name of the API key a call was admitted with (undefined on
 * an open server or an open service). Set by the API-key interceptor; read by the
 * access log and by services that account work to the key (generated tokens).
 * Only the name: the key itself never leaves the interceptor.
 */
export const callerKeyName = createContextKey<string | undefined>(undefined, {
  description: "inferd API key name",
});
