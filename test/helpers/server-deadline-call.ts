import http2 from "node:http2";
import { Code } from "@connectrpc/connect";
import { codeFromString } from "@connectrpc/connect/protocol-connect";

/** The wire protocols a call can take. */
export type CallProtocol = "grpc" | "grpc-web" | "connect";

/** How a call ended: its status (gRPC's number and name, "OK" for none) and how many messages came first. */
export interface CallEnd {
  readonly code: number;
  readonly name: string;
  readonly messages: number;
}

const ended = (code: number, messages: number): CallEnd => ({
  code,
  name: code === 0 ? "OK" : (Code[code] ?? `code ${code}`),
  messages,
});

const envelope = (flags: number, payload: Uint8Array) => {
  const out = new Uint8Array(5 + payload.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, payload.length);
  out.set(payload, 5);
  return out;
};

/** The enveloped frames of a body: [flags, payload]. */
function frames(bytes: Uint8Array): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  for (let at = 0; at + 5 <= bytes.length; ) {
    const length = new DataView(bytes.buffer, bytes.byteOffset + at + 1, 4).getUint32(0);
    out.push([bytes[at] ?? 0, bytes.subarray(at + 5, at + 5 + length)]);
    at += 5 + length;
  }
  return out;
}

/**
 * Calls `path` (binary protobuf `request`) with a deadline of `timeoutMs` that only
 * the server enforces: the header is sent, but unlike connect-es or grpc-js no client
 * timer cuts the call, so the status read is the one the server sent. `stream` says
 * whether the method is server-streaming (it changes the Connect protocol's framing).
 */
export async function callWithServerDeadline(
  port: number,
  protocol: CallProtocol,
  call: { path: string; request: Uint8Array; stream: boolean },
  timeoutMs: number,
): Promise<CallEnd> {
  if (protocol === "grpc") return viaGrpc(port, call.path, call.request, timeoutMs);
  const url = `http://127.0.0.1:${port}${call.path}`;
  if (protocol === "grpc-web") {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/grpc-web+proto",
        "x-grpc-web": "1",
        "grpc-timeout": `${timeoutMs}m`,
      },
      body: envelope(0, call.request),
    });
    const all = frames(new Uint8Array(await res.arrayBuffer()));
    const trailer = all.find(([flags]) => flags & 0x80)?.[1];
    const text = trailer ? new TextDecoder().decode(trailer) : "";
    const status = /grpc-status:\s*(\d+)/i.exec(text)?.[1] ?? res.headers.get("grpc-status");
    return ended(Number(status ?? Number.NaN), all.filter(([f]) => !(f & 0x80)).length);
  }
  const headers = {
    "connect-protocol-version": "1",
    "connect-timeout-ms": String(timeoutMs),
    "content-type": call.stream ? "application/connect+proto" : "application/proto",
  };
  const body = call.stream ? envelope(0, call.request) : call.request;
  const res = await fetch(url, { method: "POST", headers, body });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (!call.stream) {
    if (res.status === 200) return ended(0, 1);
    const { code } = JSON.parse(new TextDecoder().decode(bytes)) as { code: string };
    return ended(codeFromString(code) ?? Code.Unknown, 0);
  }
  const all = frames(bytes);
  const end = all.find(([flags]) => flags & 0x02)?.[1];
  const json = JSON.parse(new TextDecoder().decode(end)) as { error?: { code: string } };
  const code = json.error ? (codeFromString(json.error.code) ?? Code.Unknown) : 0;
  return ended(code, all.length - 1);
}

function viaGrpc(port: number, path: string, request: Uint8Array, ms: number): Promise<CallEnd> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  return new Promise<CallEnd>((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc+proto",
      te: "trailers",
      "grpc-timeout": `${ms}m`,
    });
    let status: string | undefined;
    const chunks: Buffer[] = [];
    session.on("error", reject);
    stream.on("response", (head) => (status ??= head["grpc-status"] as string | undefined));
    stream.on("trailers", (tail) => (status = tail["grpc-status"] as string | undefined));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", () => {});
    stream.on("close", () => {
      const messages = frames(new Uint8Array(Buffer.concat(chunks))).length;
      resolve(ended(Number(status ?? Number.NaN), messages));
    });
    stream.end(envelope(0, request));
  }).finally(() => session.close());
}
