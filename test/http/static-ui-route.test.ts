import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultUiDir } from "../../src/http/default-ui-dir.js";
import { createStaticUiRoute, FAVICON_FILE, resolveAsset } from "../../src/http/static-ui-route.js";

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request: node's client sends the path exactly as given (no `..` normalisation). */
function send(port: number, path: string, method = "GET"): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const INDEX = '<!doctype html><script type="module" src="./main-ABCDEFGH.js"></script>';
const SCRIPT = 'console.log("playground");';
const ICON = '<svg xmlns="http://www.w3.org/2000/svg"><title>i</title></svg>';

describe("createStaticUiRoute", () => {
  let base: string;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "inferd-ui-"));
    const dir = join(base, "dist");
    await mkdir(join(dir, "nested"), { recursive: true });
    await writeFile(join(dir, "index.html"), INDEX);
    await writeFile(join(dir, "main-ABCDEFGH.js"), SCRIPT);
    await writeFile(join(dir, "style.css"), "body{}");
    await writeFile(join(dir, FAVICON_FILE), ICON);
    await writeFile(join(base, "secret.txt"), "outside the ui folder");
    const route = createStaticUiRoute({ dir });
    server = createServer((req, res) => {
      if (route(req, res)) return;
      res.writeHead(418);
      res.end("passed on");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await rm(base, { recursive: true, force: true });
  });

  it("serves index.html at /ui/ with no-cache, and redirects / and /ui there keeping the query", async () => {
    const index = await send(port, "/ui/");
    expect(index.status).toBe(200);
    expect(index.body).toBe(INDEX);
    expect(index.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(index.headers["cache-control"]).toBe("no-cache");
    const root = await send(port, "/?api=http://127.0.0.1:9");
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe("/ui/?api=http://127.0.0.1:9");
    expect((await send(port, "/ui")).headers.location).toBe("/ui/");
  });

  it("serves assets with their content type; hashed names are immutable", async () => {
    const script = await send(port, "/ui/main-ABCDEFGH.js");
    expect(script.status).toBe(200);
    expect(script.body).toBe(SCRIPT);
    expect(script.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(script.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(script.headers["content-length"]).toBe(String(SCRIPT.length));
    const css = await send(port, "/ui/style.css?v=1");
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect(css.headers["cache-control"]).toBe("no-cache");
  });

  it("answers /favicon.ico with the playground's SVG icon, as /ui/favicon.svg does", async () => {
    for (const path of ["/favicon.ico", `/ui/${FAVICON_FILE}`]) {
      const icon = await send(port, path);
      expect(icon.status).toBe(200);
      expect(icon.body).toBe(ICON);
      expect(icon.headers["content-type"]).toBe("image/svg+xml");
      expect(icon.headers["cache-control"]).toBe("no-cache");
    }
    expect((await send(port, "/favicon.ico", "DELETE")).status).toBe(405);
  });

  it("answers HEAD with the headers only and other methods with 405", async () => {
    const head = await send(port, "/ui/main-ABCDEFGH.js", "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe(String(SCRIPT.length));
    expect(head.body).toBe("");
    const post = await send(port, "/ui/", "POST");
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
  });

  it.each([
    "/ui/missing.js",
    "/ui/nested",
    "/ui/../secret.txt",
    "/ui/%2e%2e/secret.txt",
    "/ui/..%2fsecret.txt",
    "/ui/nested/../../secret.txt",
    "/ui/%00index.html",
    "/ui/%E0%A4%A",
  ])("answers 404 for %s (unknown, a folder, or outside the ui folder)", async (path) => {
    const reply = await send(port, path);
    expect(reply.status).toBe(404);
    expect(reply.body).not.toContain("outside the ui folder");
  });

  it("passes on every other path", async () => {
    for (const path of [
      "/metrics",
      "/inferd.v1.ModelService/ListModels",
      "/uix",
      "/v1/models",
      "/favicon.icox",
    ]) {
      expect((await send(port, path)).status).toBe(418);
    }
  });
});

describe("resolveAsset", () => {
  it("keeps files inside the root and refuses everything else", () => {
    expect(resolveAsset("/srv/ui", "")).toBe("/srv/ui/index.html");
    expect(resolveAsset("/srv/ui", "a/b.js")).toBe("/srv/ui/a/b.js");
    expect(resolveAsset("/srv/ui", "a/../b.js")).toBe("/srv/ui/b.js");
    expect(resolveAsset("/srv/ui", "..")).toBeUndefined();
    expect(resolveAsset("/srv/ui", "%2e%2e%2fui-other/x")).toBeUndefined();
    expect(resolveAsset("/srv/ui", "/etc/passwd")).toBeUndefined();
  });
});

describe("defaultUiDir", () => {
  it("is ui/dist in the package root, from the source or the compiled tree", () => {
    const root = join(import.meta.dirname, "../..");
    expect(defaultUiDir()).toBe(join(root, "ui", "dist"));
    expect(defaultUiDir(join(root, "dist", "src", "http", "x.js"))).toBe(join(root, "ui", "dist"));
  });
});
