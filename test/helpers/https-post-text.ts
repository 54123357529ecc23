import https from "node:https";
import type { Socket } from "node:net";

/**
 * POSTs `body` over HTTPS to 127.0.0.1 through `agent` (which carries the test CA and
 * keep-alive choice) and resolves with the response body as text. `onSocket` sees the
 * socket each request went out on, for tests of connection reuse.
 */
export function httpsPostText(
  url: string,
  agent: https.Agent,
  body: string,
  onSocket?: (socket: Socket) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: "POST", agent }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve(text));
    });
    if (onSocket) req.on("socket", onSocket);
    req.on("error", reject);
    req.end(body);
  });
}
