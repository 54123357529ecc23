import type { UnaryRequest } from "@connectrpc/connect";
import { createContextValues } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { peerAddressKey, peerContextValues, peerOf } from "../../src/observed-call/peer-context.js";
import { detectProtocol } from "../../src/observed-call/rpc-labels.js";

function request(headers: Record<string, string>, peer?: string): UnaryRequest {
  const contextValues = createContextValues();
  if (peer !== undefined) contextValues.set(peerAddressKey, peer);
  return { header: new Headers(headers), contextValues } as unknown as UnaryRequest;
}

describe("peerOf", () => {
  it("prefers the first x-forwarded-for hop, then the socket address, else empty", () => {
    expect(peerOf(request({ "x-forwarded-for": " 198.51.100.2 , 10.0.0.1" }, "10.0.0.1"))).toBe(
      "198.51.100.2",
    );
    expect(peerOf(request({}, "::1"))).toBe("::1");
    expect(peerOf(request({}))).toBe("");
  });

  it("peerContextValues carries the socket's remote address, or empty", () => {
    expect(peerContextValues({ socket: { remoteAddress: "127.0.0.1" } }).get(peerAddressKey)).toBe(
      "127.0.0.1",
    );
    expect(peerContextValues({ socket: null }).get(peerAddressKey)).toBe("");
  });
});

describe("detectProtocol", () => {
  it.each([
    ["application/grpc", "grpc"],
    ["application/grpc+proto", "grpc"],
    ["application/grpc-web+proto", "grpc_web"],
    ["application/grpc-web-text", "grpc_web"],
    ["Application/GRPC-Web", "grpc_web"],
    ["application/proto", "connect"],
    ["application/connect+json", "connect"],
    [null, "connect"],
  ] as const)("%s -> %s", (contentType, protocol) => {
    expect(detectProtocol(contentType)).toBe(protocol);
  });
});
