import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scrapeMetrics } from "../../helpers/scrape-metrics.js";
import { type RunningInferd, startInferd } from "../../helpers/start-inferd.js";

const LIMIT = 4096;
const VERSION = (
  JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

async function call(base: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(`${base}${path}`, init);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

const errorOf = (a: Answer) => (JSON.parse(a.text) as { error: string }).error;

describe("Open Inference Protocol REST routes on the production server", () => {
  let inferd: RunningInferd;
  let base: string;
  beforeAll(async () => {
    inferd = await startInferd({
      models: ["iris", "multi_io", "tiny_llama"],
      config: {
        modelControlMode: "explicit",
        loadModel: ["iris", "tiny_llama"],
        maxRequestBytes: LIMIT,
      },
    });
    base = inferd.baseUrl;
  }, 60_000);
  afterAll(async () => {
    await inferd?.close();
  });

  it("answers the health probes with 200 and an empty body, and 405 to other methods", async () => {
    for (const path of ["/v2/health/live", "/v2/health/ready"]) {
      const a = await call(base, path);
      expect([a.status, a.text]).toEqual([200, ""]);
      const wrong = await call(base, path, post({}));
      expect([wrong.status, wrong.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
    }
  });

  it("reports server metadata: name, version and the extensions served", async () => {
    const a = await call(base, "/v2");
    expect(a.status).toBe(200);
    expect(JSON.parse(a.text)).toEqual({
      name: "inferd",
      version: VERSION,
      extensions: [
        "model_repository",
        "generate",
        "statistics",
        "model_configuration",
        "binary_tensor_data",
        "classification",
      ],
    });
  });

  it("answers model readiness with 200 or 400 and an empty body, 404 for what does not exist", async () => {
    const status = async (path: string) => {
      const a = await call(base, path);
      return [a.status, a.status === 404 || a.text === "" ? "" : a.text];
    };
    expect(await status("/v2/models/iris/ready")).toEqual([200, ""]);
    expect(await status("/v2/models/iris/versions/1/ready")).toEqual([200, ""]);
    expect(await status("/v2/models/multi_io/ready")).toEqual([400, ""]);
    const unknown = await call(base, "/v2/models/nope/ready");
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown)).toContain('"nope"');
    const noVersion = await call(base, "/v2/models/iris/versions/99/ready");
    expect(noVersion.status).toBe(404);
    expect(errorOf(noVersion)).toBe('model "iris" has no version 99; versions: 1, 2');
    const badVersion = await call(base, "/v2/models/iris/versions/v1/ready");
    expect(badVersion.status).toBe(400);
    expect(errorOf(badVersion)).toContain('model version "v1" is not a version');
  });

  it("indexes the repository, every version or only the ready ones", async () => {
    const all = await call(base, "/v2/repository/index", { method: "POST" });
    expect(all.status).toBe(200);
    const entries = JSON.parse(all.text) as { name: string; state: string }[];
    expect(entries).toContainEqual({ name: "iris", version: "1", state: "READY", reason: "" });
    expect(entries).toContainEqual({ name: "iris", version: "2", state: "READY", reason: "" });
    expect(entries.filter((e) => e.name === "multi_io").map((e) => e.state)).not.toContain("READY");
    const ready = await call(base, "/v2/repository/index", post({ ready: true }));
    const names = (JSON.parse(ready.text) as { name: string; state: string }[]).map(
      (e) => `${e.name}:${e.state}`,
    );
    expect(names.sort()).toEqual(["iris:READY", "iris:READY", "tiny_llama:READY"]);
    const bad = await call(base, "/v2/repository/index", post({ ready: "yes" }));
    expect([bad.status, errorOf(bad)]).toEqual([400, '"ready" must be a boolean']);
  });

  it("loads and unloads a model through the registry", async () => {
    const load = await call(base, "/v2/repository/models/multi_io/load", { method: "POST" });
    expect([load.status, load.text]).toEqual([200, ""]);
    expect((await call(base, "/v2/models/multi_io/ready")).status).toBe(200);
    const unload = await call(
      base,
      "/v2/repository/models/multi_io/unload",
      post({ parameters: { unload_dependents: false } }),
    );
    expect([unload.status, unload.text]).toEqual([200, ""]);
    expect((await call(base, "/v2/models/multi_io/ready")).status).toBe(400);
  });

  it("refuses loads of unknown models and parameters inferd cannot honour", async () => {
    const unknown = await call(base, "/v2/repository/models/nope/load", { method: "POST" });
    expect(unknown.status).toBe(404);
    const config = await call(
      base,
      "/v2/repository/models/iris/load",
      post({ parameters: { config: "{}" } }),
    );
    expect(config.status).toBe(400);
    expect(errorOf(config)).toContain('parameter "config" is not supported');
  });

  it("answers unknown endpoints, wrong methods, oversize and bad bodies with {error}", async () => {
    const unknown = await call(base, "/v2/nothing");
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown)).toContain("unknown endpoint /v2/nothing");
    const method = await call(base, "/v2/repository/index");
    expect([method.status, method.headers.get("allow")]).toEqual([405, "POST"]);
    expect(errorOf(method)).toBe("/v2/repository/index takes POST requests");
    const big = await call(base, "/v2/repository/index", post({ pad: "x".repeat(LIMIT) }));
    expect(big.status).toBe(413);
    expect(errorOf(big)).toContain(`limit of ${LIMIT} bytes`);
    const notJson = await call(base, "/v2/repository/index", post("{nope"));
    expect(notJson.status).toBe(400);
    expect(errorOf(notJson)).toContain("not valid JSON");
  });

  it("counts /v2 requests in the HTTP metrics by endpoint pattern", async () => {
    await call(base, "/v2/models/iris/versions/2/ready");
    const scrape = await scrapeMetrics(base);
    const route = "/v2/models/{model}[/versions/{version}]/ready";
    expect(
      scrape.total("inferd_http_requests_total", { route, code: "200" }),
    ).toBeGreaterThanOrEqual(3);
  });
});

describe("Open Inference Protocol REST routes with --api-key", () => {
  let inferd: RunningInferd;
  beforeAll(async () => {
    inferd = await startInferd({ models: ["iris"], config: { apiKey: ["k1"] } });
  }, 60_000);
  afterAll(async () => {
    await inferd?.close();
  });

  it("keeps the health probes open and asks every other route for the key", async () => {
    const base = inferd.baseUrl;
    for (const path of ["/v2/health/live", "/v2/health/ready"]) {
      expect((await call(base, path)).status).toBe(200);
    }
    const guarded: [string, RequestInit][] = [
      ["/v2", {}],
      ["/v2/models/iris/ready", {}],
      ["/v2/repository/index", { method: "POST" }],
      ["/v2/repository/models/iris/unload", { method: "POST" }],
      ["/v2/models/iris/generate", post({ text_input: "x" })],
      ["/v2/nothing", {}],
    ];
    for (const [path, init] of guarded) {
      const a = await call(base, path, init);
      expect([path, a.status, a.headers.get("www-authenticate")]).toEqual([path, 401, "Bearer"]);
      expect(errorOf(a)).toContain("Authorization: Bearer <key>");
      const wrong = await call(base, path, { ...init, headers: { authorization: "Bearer k2" } });
      expect(wrong.status).toBe(401);
    }
    const ok = await call(base, "/v2/models/iris/ready", {
      headers: { authorization: "Bearer k1" },
    });
    expect(ok.status).toBe(200);
    const meta = await call(base, "/v2", { headers: { authorization: "Bearer k1" } });
    expect(meta.status).toBe(200);
  });
});
