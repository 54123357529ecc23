import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireGenerative } from "../../src/generation/text-generator.js";
import { hasSharedStories, SHARED_STORIES } from "../helpers/fixtures.js";
import {
  type GenerationServer,
  startGenerationServer,
} from "../helpers/start-generation-server.js";
import { makeLinkedRepo, removeRepo } from "./make-linked-repo.js";

const VERSION_DIR = join(SHARED_STORIES, "1");

describe.skipIf(!hasSharedStories())(
  "per-client generation cap on the production server (needs ../shared/models/stories260k)",
  () => {
    let repo = "";
    let server: GenerationServer | undefined;
    beforeAll(async () => {
      const config = JSON.parse(readFileSync(join(VERSION_DIR, "config.json"), "utf8")) as object;
      repo = await makeLinkedRepo([
        {
          name: "long",
          versions: { 1: VERSION_DIR },
          modelJson: {
            kind: "generate",
            max_concurrent_sequences: 1,
            max_waiting: 7,
            max_sequences_per_client: 2,
          },
          files: { "config.json": { ...config, max_position_embeddings: 16_384 } },
        },
      ]);
      server = await startGenerationServer(repo);
    }, 60_000);
    afterAll(async () => {
      await server?.close();
      await removeRepo(repo);
    });

    it("answers a client over its cap ResourceExhausted on gRPC and 429 on /v1, at once", async () => {
      const s = server as GenerationServer;
      const held = new AbortController();
      const long = { model: "long", prompt: "Once", temperature: 0, ignoreEos: true };
      const running = s.generation.generate(long, { signal: held.signal })[Symbol.asyncIterator]();
      expect((await running.next()).done).toBe(false);
      const waiting = s.generation.generate(long, { signal: held.signal })[Symbol.asyncIterator]();
      const waited = waiting.next().catch(() => undefined);
      // The second one is admitted (waiting) once the model counts it.
      const model = acquireGenerative(s.app.registry, "long");
      try {
        while (model.servable.stats().waiting < 1) await new Promise((r) => setTimeout(r, 5));
      } finally {
        model.release();
      }
      let code: Code | undefined;
      try {
        for await (const _ of s.generation.generate({ ...long, maxTokens: 2 })) break;
      } catch (error) {
        code = ConnectError.from(error).code;
      }
      expect(code).toBe(Code.ResourceExhausted);
      const res = await fetch(`${s.baseUrl}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "long", prompt: "Hi", max_tokens: 2 }),
      });
      expect(res.status).toBe(429);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(/max_sequences_per_client 2/);
      held.abort();
      await waited;
      await running.return?.();
    });
  },
);
