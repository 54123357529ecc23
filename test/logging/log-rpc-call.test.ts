import { Code, ConnectError } from "@connectrpc/connect";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { logRpcCall } from "../../src/logging/log-rpc-call.js";
import { createLogger, type Logger } from "../../src/logging/logger.js";
import type { RpcCall } from "../../src/observed-call/rpc-call.js";
import type { RpcLabels } from "../../src/observed-call/rpc-labels.js";

const grpc: RpcLabels = {
  grpc_service: "inferd.v1.InferenceService",
  grpc_method: "Predict",
  grpc_type: "unary",
  protocol: "grpc",
};
const connect: RpcLabels = { ...grpc, protocol: "connect" };
const NOW = "2026-01-02T03:04:05.678Z";

/** The bytes pino wrote for these calls before the fixed-shape "ok" line (captured then). */
function line(level: number, protocol: string, fields: string): string {
  const procedure = "/inferd.v1.InferenceService/Predict";
  const head = `{"level":${level},"time":"${NOW}","service":"inferd","procedure":"${procedure}"`;
  return `${head},"protocol":"${protocol}",${fields},"msg":"rpc"}\n`;
}

const CASES: [string, RpcCall, string][] = [
  [
    "ok with every field",
    {
      labels: grpc,
      ...{
        peer: "203.0.113.7",
        headerRequestId: "hdr-1",
        code: "ok",
        durationMs: 1.23456,
        key: "ci",
      },
      fields: { model: "iris", version: 3, requestId: "req-1" },
    },
    line(
      30,
      "grpc",
      `"code":"ok","duration_ms":1.235,"peer":"203.0.113.7","request_id":"req-1","model":"iris","version":3,"key":"ci"`,
    ),
  ],
  [
    "ok without optional fields",
    {
      labels: grpc,
      peer: "",
      headerRequestId: undefined,
      code: "ok",
      durationMs: 0.0004,
      fields: {},
    },
    line(30, "grpc", `"code":"ok","duration_ms":0,"peer":""`),
  ],
  [
    "ok with quotes, backslashes, unicode and a control character",
    {
      labels: grpc,
      ...{ peer: "::1", headerRequestId: 'h"d\\r', code: "ok", durationMs: 12, key: "k\u0001ey" },
      fields: { model: 'mo"dèle\\ 🚀 é\n', version: 1 },
    },
    line(
      30,
      "grpc",
      String.raw`"code":"ok","duration_ms":12,"peer":"::1","request_id":"h\"d\\r","model":"mo\"dèle\\ 🚀 é\n","version":1,"key":"k\u0001ey"`,
    ),
  ],
  [
    "ok with a non-finite duration, a lone surrogate and a long string",
    {
      labels: connect,
      ...{ peer: "10.0.0.1", headerRequestId: undefined, code: "ok", durationMs: Number.NaN },
      fields: { model: "x".repeat(120), requestId: "\ud800lone" },
    },
    line(
      30,
      "connect",
      `"code":"ok","duration_ms":null,"peer":"10.0.0.1","request_id":"\ud800lone","model":"${"x".repeat(120)}"`,
    ),
  ],
  [
    "client error",
    {
      labels: connect,
      ...{ peer: "10.0.0.1", headerRequestId: "h", code: "invalid_argument", durationMs: 0.5 },
      error: new ConnectError('bad "x"', Code.InvalidArgument),
      fields: { model: "bad", requestId: "r-2" },
    },
    line(
      40,
      "connect",
      `"code":"invalid_argument","duration_ms":0.5,"peer":"10.0.0.1","request_id":"r-2","model":"bad"`,
    ),
  ],
  [
    "server fault",
    {
      labels: grpc,
      ...{
        peer: "p",
        headerRequestId: undefined,
        code: "internal",
        durationMs: 2.0005,
        key: "ops",
      },
      error: new Error("session exploded", { cause: new Error('née "deep"') }),
      fields: { model: "crash", version: 7 },
    },
    line(
      50,
      "grpc",
      String.raw`"code":"internal","duration_ms":2.001,"peer":"p","model":"crash","version":7,"key":"ops","error":"session exploded: née \"deep\""`,
    ),
  ],
  [
    "refused call",
    {
      labels: grpc,
      ...{ peer: "p", headerRequestId: "ref-1", code: "resource_exhausted", durationMs: 0.1 },
      error: new ConnectError("message larger than 4 MiB", Code.ResourceExhausted),
      fields: {},
      refused: true,
    },
    line(
      40,
      "grpc",
      `"code":"resource_exhausted","duration_ms":0.1,"peer":"p","request_id":"ref-1","refused":true,"error":"message larger than 4 MiB"`,
    ),
  ],
];

function captured(level: string): { logger: Logger; text: string[] } {
  const text: string[] = [];
  return {
    logger: createLogger({ level, destination: { write: (l) => void text.push(l) } }),
    text,
  };
}

describe("logRpcCall", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date(NOW));
  });
  afterEach(() => vi.useRealTimers());

  it.each(CASES)("writes the same bytes as pino's generic path: %s", (_name, call, expected) => {
    const { logger, text } = captured("info");
    const log = logRpcCall(logger);
    log(call);
    log(call); // the second line of a method reuses its child logger
    expect(text).toEqual([expected, expected]);
  });

  it("leaves a logger configured otherwise to pino: its redaction, mixin and message key apply", () => {
    const text: string[] = [];
    const logger = pino(
      {
        base: null,
        timestamp: false,
        messageKey: "message",
        redact: ["peer"],
        mixin: () => ({ extra: 1 }),
      },
      { write: (l: string) => void text.push(l) },
    );
    const call = {
      labels: grpc,
      peer: "secret",
      headerRequestId: "h",
      code: "ok",
      durationMs: 1,
      fields: {},
    };
    logRpcCall(logger)(call);
    expect(text).toEqual([
      `{"level":30,"procedure":"/inferd.v1.InferenceService/Predict","protocol":"grpc","extra":1,"code":"ok","duration_ms":1,"peer":"[Redacted]","request_id":"h","message":"rpc"}\n`,
    ]);
  });
});
