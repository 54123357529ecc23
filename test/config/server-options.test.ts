import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CONFIG_TABLE_END,
  CONFIG_TABLE_START,
  renderConfigTable,
} from "../../src/config/render-config-table.js";
import { resolveServerConfig } from "../../src/config/resolve-server-config.js";
import { SERVER_OPTIONS } from "../../src/config/server-options.js";
import { InferdError } from "../../src/errors/inferd-error.js";

describe("SERVER_OPTIONS", () => {
  it("names every env variable INFERD_<FLAG> and keys each row uniquely", () => {
    for (const spec of SERVER_OPTIONS) {
      expect(spec.env).toBe(`INFERD_${spec.flag.toUpperCase().replace(/-/g, "_")}`);
      expect(spec.key).toBe(spec.flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()));
    }
    expect(new Set(SERVER_OPTIONS.map((s) => s.key)).size).toBe(SERVER_OPTIONS.length);
  });
});

describe("resolveServerConfig", () => {
  it("takes defaults when nothing is given", () => {
    const config = resolveServerConfig({}, {});
    expect(config).toEqual({
      port: 8080,
      host: "0.0.0.0",
      modelRepository: "models",
      modelControlMode: "none",
      pollInterval: 5,
      loadModel: [],
      allowSymlinksOutsideRepository: false,
      exitWhenReady: false,
      maxRequestBytes: 16 * 1024 * 1024,
      maxBatchPredictItems: 256,
      requestTimeoutMs: 0,
      streamStallTimeoutMs: 30000,
      bodyTimeoutMs: 30000,
      gracePeriodMs: 30000,
      maxConcurrentStreams: 1000,
      keepaliveTimeMs: 60000,
      keepaliveTimeoutMs: 20000,
      corsOrigin: [],
      apiKey: [],
      logLevel: "info",
    });
  });

  it("lets env override defaults and flags override env", () => {
    const env = {
      INFERD_PORT: "7000",
      INFERD_HOST: "127.0.0.1",
      INFERD_CORS_ORIGIN: "https://a, https://b",
      INFERD_API_KEY: "k1,k2",
    };
    const config = resolveServerConfig({ port: 9000 }, env);
    expect(config.port).toBe(9000);
    expect(config.host).toBe("127.0.0.1");
    expect(config.corsOrigin).toEqual(["https://a", "https://b"]);
    expect(config.apiKey).toEqual(["k1", "k2"]);
    expect(resolveServerConfig({}, { INFERD_MODEL_NAME: "iris-v2" }).modelName).toBe("iris-v2");
  });

  it.each([
    [
      { INFERD_PORT: "eighty" },
      'INFERD_PORT must be a whole number >= 0 and <= 65535, got "eighty"',
    ],
    [{ INFERD_PORT: "70000" }, 'INFERD_PORT must be a whole number >= 0 and <= 65535, got "70000"'],
    [
      { INFERD_MAX_REQUEST_BYTES: "0" },
      'INFERD_MAX_REQUEST_BYTES must be a whole number >= 1, got "0"',
    ],
    [
      { INFERD_POLL_INTERVAL: "0" },
      'INFERD_POLL_INTERVAL must be a number >= 0.05 and <= 2147483, got "0"',
    ],
    [
      { INFERD_POLL_INTERVAL: "3000000" },
      'INFERD_POLL_INTERVAL must be a number >= 0.05 and <= 2147483, got "3000000"',
    ],
    [{ INFERD_API_KEY: "" }, 'INFERD_API_KEY must be non-empty (unset it to go without), got ""'],
    [{ INFERD_API_KEY: " , " }, "INFERD_API_KEY must be non-empty"],
    [
      { INFERD_MODEL_CONTROL_MODE: "auto" },
      "INFERD_MODEL_CONTROL_MODE must be one of none, poll, explicit",
    ],
    [{ INFERD_TLS_CERT: "cert.pem" }, "TLS needs both --tls-cert and --tls-key"],
    [{ INFERD_MODEL_NAME: "a/b" }, '--model-name must be a model name (not empty, no "/"'],
    [{ INFERD_MODEL_NAME: "" }, '--model-name must be a model name (not empty, no "/"'],
  ])("rejects %j with an actionable invalid_argument", (env, message) => {
    let error: unknown;
    try {
      resolveServerConfig({}, env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InferdError);
    expect((error as InferdError).kind).toBe("invalid_argument");
    expect((error as InferdError).message).toContain(message);
  });
});

describe("renderConfigTable", () => {
  it("renders one markdown row per option with flag, env and default", () => {
    const lines = renderConfigTable().split("\n");
    expect(lines).toHaveLength(SERVER_OPTIONS.length + 2);
    expect(lines).toContain(
      "| `--port` | `INFERD_PORT` | `8080` | TCP port for gRPC, gRPC-Web, Connect and HTTP; 0 picks a free port |",
    );
    expect(lines).toContain(
      "| `--tls-key` | `INFERD_TLS_KEY` | `-` | PEM private key file for --tls-cert |",
    );
  });

  const readme = (() => {
    try {
      return readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    } catch {
      return "";
    }
  })();
  const hasMarkers = readme.includes(CONFIG_TABLE_START) && readme.includes(CONFIG_TABLE_END);
  it.skipIf(!hasMarkers)(
    `README.md holds exactly the rendered table between ${CONFIG_TABLE_START} and ${CONFIG_TABLE_END} (skipped: markers absent from README.md)`,
    () => {
      const start = readme.indexOf(CONFIG_TABLE_START) + CONFIG_TABLE_START.length;
      const between = readme.slice(start, readme.indexOf(CONFIG_TABLE_END)).trim();
      expect(between).toBe(renderConfigTable());
    },
  );
});
