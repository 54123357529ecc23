import { spawn } from "node:child_process";
import { once } from "node:events";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import { createLogger } from "../../src/logging/logger.js";

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const lines = () =>
    chunks
      .join("")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { lines, stream };
}

describe("createLogger", () => {
  it("writes one JSON line per call with level, time and message", () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: "info", destination: stream });
    log.info({ model: "iris" }, "loaded");
    log.debug("hidden below info");
    const out = lines();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ level: 30, model: "iris", msg: "loaded", service: "inferd" });
    expect(typeof out[0]?.time).toBe("string");
    expect(Number.isNaN(Date.parse(String(out[0]?.time)))).toBe(false);
  });

  it("redacts authorization and cookie headers at any of the usual depths", () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: "debug", destination: stream }).child({ component: "http" });
    log.warn({
      authorization: "Bearer top-secret-1",
      headers: { cookie: "sid=top-secret-2", "content-type": "application/json" },
      req: { headers: { authorization: "Basic top-secret-3", "set-cookie": "top-secret-4" } },
    });
    const raw = JSON.stringify(lines());
    expect(raw).not.toMatch(/top-secret/);
    const line = lines()[0] as {
      authorization: string;
      component: string;
      headers: Record<string, string>;
      req: { headers: Record<string, string> };
    };
    expect(line.component).toBe("http");
    expect(line.authorization).toBe("[redacted]");
    expect(line.headers.cookie).toBe("[redacted]");
    expect(line.headers["content-type"]).toBe("application/json");
    expect(line.req.headers.authorization).toBe("[redacted]");
    expect(line.req.headers["set-cookie"]).toBe("[redacted]");
  });

  it("rejects an unknown level with invalid_argument naming the valid ones", () => {
    let error: unknown;
    try {
      createLogger({ level: "verbose" });
    } catch (e) {
      error = e;
    }
    expect(isInferdError(error) && error.kind).toBe("invalid_argument");
    expect(String((error as Error).message)).toContain("debug");
  });
});

describe("createLogger's stdout", () => {
  // A child process logging to its real stdout, the default destination.
  const run = (script: string) =>
    spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: process.cwd(),
      stdio: ["ignore", "pipe", "inherit"],
    });
  const logger = `import { createLogger } from "./src/logging/logger.ts";
    const logger = createLogger({ level: "info" });`;

  it("writes a lone line while the process keeps running, not only at exit", async () => {
    // Held below the 4 KiB batch, the line must still come out by the periodic flush.
    const child = run(`${logger} logger.info("lone"); setInterval(() => {}, 1000);`);
    try {
      const line = await new Promise<string>((resolve) => {
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes("\n")) resolve(out);
        });
      });
      expect(JSON.parse(line)).toMatchObject({ level: 30, msg: "lone", service: "inferd" });
    } finally {
      child.kill();
    }
  }, 20_000);

  it("writes every queued line when the process exits", async () => {
    const child = run(
      `${logger} for (let i = 0; i < 100; i++) logger.info({ i }, "x"); process.exit(0);`,
    );
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    await once(child, "close");
    const lines = out.split("\n").filter((l) => l !== "");
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([...Array(100).keys()]);
  }, 20_000);
});
