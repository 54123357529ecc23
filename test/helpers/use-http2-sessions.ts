import { Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll } from "vitest";

/**
 * A factory of connect-node HTTP/2 session managers on `baseUrl()`, each aborted in
 * afterAll so that no idle connection holds a server shutdown open. Call it after
 * the server's own hooks: afterAll runs in reverse order, so the sessions close first.
 */
export function useHttp2Sessions(baseUrl: () => string): () => Http2SessionManager {
  const sessions: Http2SessionManager[] = [];
  afterAll(() => {
    for (const s of sessions) s.abort();
  });
  return () => {
    const manager = new Http2SessionManager(baseUrl());
    sessions.push(manager);
    return manager;
  };
}
