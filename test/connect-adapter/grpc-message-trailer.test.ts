import type * as http from "node:http";
import { describe, expect, it } from "vitest";
import {
  encodeGrpcMessage,
  useSpecGrpcMessage,
} from "../../src/connect-adapter/grpc-message-trailer.js";

const TRICKY = 'input "x": rank 1 [4]; a, b/c?d=e&f 100% é\n✓';

describe("encodeGrpcMessage", () => {
  it("escapes only bytes outside printable ASCII and %, as UTF-8", () => {
    expect(encodeGrpcMessage(TRICKY)).toBe(
      'input "x": rank 1 [4]; a, b/c?d=e&f 100%25 %C3%A9%0A%E2%9C%93',
    );
  });

  it("decodes back exactly with decodeURI (grpc-js) and decodeURIComponent (connect-es)", () => {
    expect(decodeURI(encodeGrpcMessage(TRICKY))).toBe(TRICKY);
    expect(decodeURIComponent(encodeGrpcMessage(TRICKY))).toBe(TRICKY);
  });
});

/** A response double recording what reaches the real addTrailers. */
function fakeExchange(contentType: string) {
  const written: http.OutgoingHttpHeaders[] = [];
  const req = { headers: { "content-type": contentType } } as unknown as http.IncomingMessage;
  const res = {
    addTrailers: (h: http.OutgoingHttpHeaders) => written.push(h),
  } as unknown as http.ServerResponse;
  useSpecGrpcMessage(req, res);
  return { res, written };
}

describe("useSpecGrpcMessage", () => {
  it("re-encodes connect-node's encodeURIComponent form on gRPC responses", () => {
    const { res, written } = fakeExchange("application/grpc+proto");
    res.addTrailers({ "grpc-status": "3", "grpc-message": encodeURIComponent(TRICKY) });
    expect(written).toEqual([{ "grpc-status": "3", "grpc-message": encodeGrpcMessage(TRICKY) }]);
  });

  it("leaves gRPC-Web and Connect responses alone", () => {
    for (const type of ["application/grpc-web+proto", "application/json"]) {
      const { res, written } = fakeExchange(type);
      const trailers = { "grpc-message": encodeURIComponent(TRICKY) };
      res.addTrailers(trailers);
      expect(written).toEqual([trailers]);
    }
  });
});
