import http from "node:http";
import http2 from "node:http2";
import { rawHttp1 } from "../helpers/raw-exchange.js";
import type { HostileRow } from "./hostile-row.js";
import { type Outcome, sendHttp1, sendHttp2, type WireRequest } from "./hostile-wire.js";

/** The connections the drivers share: one HTTP/2 session and one keep-alive HTTP/1.1 agent. */
export interface HostileClient {
  readonly port: number;
  send(row: Pick<HostileRow, "protocol" | "request" | "http2" | "raw">): Promise<Outcome>;
  /** One request over HTTP/2 (`true`) or HTTP/1.1. */
  sendWire(request: WireRequest, overHttp2: boolean): Promise<Outcome>;
  close(): void;
}

const OVER_HTTP2 = new Set(["grpc", "oip-grpc"]);

/**
 * Opens the drivers' connections to inferd on `port`. gRPC rows go over HTTP/2, the
 * others over HTTP/1.1 unless the row says `http2`; raw rows on a socket of their own.
 * A session the server tore down (GOAWAY, a connection error) is replaced on the
 * next send, so that one row cannot spoil the next.
 */
export function createHostileClient(port: number): HostileClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let session: http2.ClientHttp2Session | undefined;
  const h2 = () => {
    if (session === undefined || session.closed || session.destroyed) {
      session = http2.connect(`http://127.0.0.1:${port}`);
      session.on("error", () => {});
      session.on("goaway", () => (session = undefined));
    }
    return session;
  };
  const sendWire = (request: WireRequest, overHttp2: boolean) =>
    overHttp2 ? sendHttp2(h2(), request) : sendHttp1(port, agent, request);
  return {
    port,
    sendWire,
    async send(row) {
      if (row.protocol === "http1-raw") {
        const reply = await rawHttp1(port, row.raw ?? "", new Uint8Array());
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(reply)?.[1] ?? 0);
        return { status, code: "", message: reply };
      }
      return sendWire(row.request, row.http2 ?? OVER_HTTP2.has(row.protocol));
    },
    close() {
      agent.destroy();
      session?.close();
    },
  };
}

/** The parts of `outcome` a row's expectation names, to compare with `toEqual`. */
export function observed(row: HostileRow, outcome: Outcome): Record<string, unknown> {
  const seen: Record<string, unknown> = {};
  if (row.expect.status !== undefined) seen.status = outcome.status;
  if (row.expect.code !== undefined) seen.code = outcome.code;
  if (row.expect.message !== undefined) {
    seen.message = outcome.message.includes(row.expect.message)
      ? row.expect.message
      : outcome.message;
  }
  return seen;
}
