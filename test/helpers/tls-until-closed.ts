import tls from "node:tls";

/**
 * Opens a raw HTTP/1.1-over-TLS connection (ALPN `http/1.1`) to 127.0.0.1, lets `talk`
 * write once the handshake is done, and resolves with all the server sent before the
 * connection closed and how long that took: for tests of what the server does to slow
 * or silent clients, which no HTTP client library lets one be.
 */
export function tlsUntilClosed(
  port: number,
  ca: Buffer,
  talk: (socket: tls.TLSSocket) => void,
): Promise<{ text: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let text = "";
    const socket = tls.connect({ port, host: "127.0.0.1", ca, ALPNProtocols: ["http/1.1"] }, () =>
      talk(socket),
    );
    socket.on("data", (chunk) => (text += chunk.toString()));
    socket.on("error", reject);
    socket.on("close", () => resolve({ text, ms: Date.now() - started }));
  });
}
