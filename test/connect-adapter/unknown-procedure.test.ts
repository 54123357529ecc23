import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { grpcClient } from "../helpers/inferd-grpc.js";
import { useInferd } from "../helpers/use-inferd.js";

const inferd = useInferd();

/** One raw HTTP/2 request with an empty gRPC message: the response headers. */
function rawCall(path: string, contentType: string): Promise<http2.IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(inferd.baseUrl);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": contentType,
      te: "trailers",
    });
    stream.on("response", (headers) => {
      resolve(headers);
      stream.close();
      session.close();
    });
    stream.on("error", reject);
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

describe("a path that names no procedure", () => {
  it("is UNIMPLEMENTED (grpc-status 12 in a trailers-only HTTP 200) for gRPC and gRPC-Web", async () => {
    for (const type of [
      "application/grpc",
      "application/grpc+proto",
      "application/grpc-web+proto",
    ]) {
      const headers = await rawCall("/inferd.v1.InferenceService/Nope", type);
      expect(headers[":status"]).toBe(200);
      expect(headers["grpc-status"]).toBe("12");
      expect(headers["grpc-message"]).toContain("unknown method /inferd.v1.InferenceService/Nope");
    }
  });

  it("reaches a grpc-js client as UNIMPLEMENTED with the server's message", async () => {
    const client = grpcClient(inferd.port);
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      client.makeUnaryRequest(
        "/no.such.Service/Call",
        (value: Buffer) => value,
        (bytes: Buffer) => bytes,
        Buffer.alloc(0),
        (e) => resolve(e as grpc.ServiceError),
      );
    });
    client.close();
    expect(error.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(error.details).toContain("unknown method /no.such.Service/Call");
  });

  it("is a plain 404 for the Connect protocol and plain HTTP", async () => {
    const res = await fetch(`${inferd.baseUrl}/inferd.v1.InferenceService/Nope`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(404);
    expect((await fetch(`${inferd.baseUrl}/nothing-here`)).status).toBe(404);
  });
});
