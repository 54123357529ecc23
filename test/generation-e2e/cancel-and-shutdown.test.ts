import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  FinishReason,
  type GenerateRequestSchema,
  type GenerateResponse,
} from "../../gen/inferd/v1/generation_pb.js";
import type { GenerativeModel } from "../../src/generation/generative-model.js";
import { createLogger, type Logger } from "../../src/logging/logger.js";
import { hasSharedStories, SHARED_STORIES } from "../helpers/fixtures.js";
import {
  type GenerationServer,
  startGenerationServer,
} from "../helpers/start-generation-server.js";
import { makeLinkedRepo, removeRepo } from "./make-linked-repo.js";

type Init = MessageInitShape<typeof GenerateRequestSchema>;

const VERSION_DIR = join(SHARED_STORIES, "1");
/** The golden greedy continuation of "The little dog" (llama2.c run.c). */
const goldenDog = (): number[] =>
  (
    JSON.parse(readFileSync(join(SHARED_STORIES, "golden.json"), "utf8")) as {
      cases: { prompt: string; generated_token_ids: number[] }[];
    }
  ).cases.find((c) => c.prompt === "The little dog")?.generated_token_ids ?? [];

/**
 * stories260k with one slot and one waiting place. Its RoPE positions are computed in
 * the graph, so a larger max_position_embeddings lets a stream run far longer than
 * any test: a stream that ends early was cancelled, not finished.
 */
async function oneSlotRepo(): Promise<string> {
  const config = JSON.parse(readFileSync(join(VERSION_DIR, "config.json"), "utf8")) as object;
  return makeLinkedRepo([
    {
      name: "long",
      versions: { 1: VERSION_DIR },
      modelJson: { kind: "generate", max_concurrent_sequences: 1, max_waiting: 1 },
      files: { "config.json": { ...config, max_position_embeddings: 16_384 } },
    },
  ]);
}

const LONG: Init = {
  model: "long",
  prompt: "Once upon a time",
  temperature: 0,
  ignoreEos: true,
  maxTokens: 16_000,
};
const DOG: Init = { model: "long", prompt: "The little dog", temperature: 0, maxTokens: 20 };

function capture(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "info",
    destination: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  return { logger, lines };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 2));
}

async function ids(stream: AsyncIterable<GenerateResponse>): Promise<number[]> {
  const out: number[] = [];
  for await (const m of stream) out.push(...m.tokenIds);
  return out;
}

async function codeOf(promise: Promise<unknown>): Promise<Code> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error).code;
  }
  throw new Error("expected the call to fail");
}

/**
 * Reads a stream to its end and returns the code it failed with. Connect's client
 * may still hand out messages it had buffered before an abort; the stream must then
 * fail, not end normally.
 */
async function endCodeOf(it: AsyncIterator<GenerateResponse>): Promise<Code> {
  return codeOf(
    (async () => {
      while (!(await it.next()).done) {}
    })(),
  );
}

/** Starts a stream and resolves once it has produced `n` tokens: the rest of it and the count. */
async function startStream(
  stream: AsyncIterable<GenerateResponse>,
  n: number,
): Promise<AsyncIterator<GenerateResponse> & { got: number }> {
  const it = stream[Symbol.asyncIterator]();
  let got = 0;
  while (got < n) {
    const step = await it.next();
    if (step.done) throw new Error("the stream ended early");
    got += step.value.tokenIds.length;
  }
  return Object.assign(it, { got });
}

/**
 * One Generate over the Connect protocol with plain fetch and `connect-timeout-ms`, so
 * that only the server enforces the deadline: the messages, and the end-of-stream JSON.
 */
async function connectStream(
  baseUrl: string,
  request: Init,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ messages: unknown[]; end: { error?: { code: string } } }> {
  const json = new TextEncoder().encode(JSON.stringify(request));
  const body = new Uint8Array(5 + json.length);
  new DataView(body.buffer).setUint32(1, json.length);
  body.set(json, 5);
  const res = await fetch(`${baseUrl}/inferd.v1.GenerationService/Generate`, {
    method: "POST",
    headers: {
      "content-type": "application/connect+json",
      "connect-protocol-version": "1",
      "connect-timeout-ms": String(timeoutMs),
    },
    body,
    ...(signal && { signal }),
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const messages: unknown[] = [];
  for (let at = 0; at < bytes.length; ) {
    const flags = bytes[at] ?? 0;
    const length = new DataView(bytes.buffer, at + 1, 4).getUint32(0);
    const payload = JSON.parse(new TextDecoder().decode(bytes.subarray(at + 5, at + 5 + length)));
    at += 5 + length;
    if (flags & 0b10) return { messages, end: payload };
    messages.push(payload);
  }
  throw new Error("the stream ended without an end-of-stream message");
}

describe.skipIf(!hasSharedStories())(
  "cancel and shutdown on the production server (needs ../shared/models/stories260k, skipped when absent)",
  () => {
    let repo: string;
    beforeAll(async () => {
      repo = await oneSlotRepo();
    });
    afterAll(async () => {
      if (repo) await removeRepo(repo);
    });

    describe("with one slot", () => {
      let server: GenerationServer;
      const { logger, lines } = capture();
      const stats = () => {
        const lease = server.app.registry.acquire("long");
        try {
          return (lease.servable as GenerativeModel).stats();
        } finally {
          lease.release();
        }
      };
      beforeAll(async () => {
        server = await startGenerationServer(repo, {}, logger);
      }, 60_000);
      afterAll(async () => {
        await server?.close();
      });

      it("a gRPC client's cancel frees the slot for the waiting request; a full queue is ResourceExhausted", async () => {
        const solo = await ids(server.generation.generate(DOG));
        expect(solo).toEqual(goldenDog().slice(0, 20));
        const cancel = new AbortController();
        const a = await startStream(
          server.generation.generate({ ...LONG, requestId: "cancel-a" }, { signal: cancel.signal }),
          3,
        );
        const b = ids(server.generation.generate(DOG));
        await until(() => stats().waiting === 1);
        expect(stats()).toEqual({ running: 1, waiting: 1 });
        expect(await codeOf(ids(server.generation.generate(DOG)))).toBe(Code.ResourceExhausted);
        cancel.abort();
        expect(await endCodeOf(a)).toBe(Code.Canceled);
        expect(await b).toEqual(solo);
        await until(() => stats().running === 0);
        expect(stats()).toEqual({ running: 0, waiting: 0 });
        const end = lines.find((l) => l.msg === "generation ended" && l.request_id === "cancel-a");
        expect(end).toMatchObject({ finish_reason: "cancelled", model: "long" });
        expect(end?.completion_tokens).toBeLessThan(16_000);
        expect(end?.completion_tokens).toBeGreaterThanOrEqual(a.got);
        // The stream ended before its finish chunk: the report still knows the prompt and times.
        const prompt = await server.generation.tokenize({ model: "long", text: LONG.prompt ?? "" });
        expect(end?.prompt_tokens).toBe(prompt.tokenIds.length);
        expect(end?.ttft_ms).toBeGreaterThan(0);
        const rpc = lines.find((l) => l.msg === "rpc" && l.request_id === "cancel-a");
        expect(rpc?.code).toBe("canceled");
      });

      it("an OpenAI streaming client that disconnects frees the slot too", async () => {
        const disconnect = new AbortController();
        const response = await fetch(`${server.baseUrl}/v1/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ ...LONG, max_tokens: 16_000, ignore_eos: true, stream: true }),
          signal: disconnect.signal,
        });
        const reader = response.body?.getReader();
        expect((await reader?.read())?.done).toBe(false);
        const openai = new OpenAI({ baseURL: `${server.baseUrl}/v1`, apiKey: "-", maxRetries: 0 });
        const b = openai.completions.create({
          model: "long",
          prompt: "The little dog",
          max_tokens: 20,
          temperature: 0,
        });
        await until(() => stats().waiting === 1);
        disconnect.abort();
        const text = (await b).choices[0]?.text;
        let solo = "";
        for await (const m of server.generation.generate(DOG)) solo += m.text;
        expect(text).toBe(solo);
        await until(() => stats().running === 0);
        expect(stats()).toEqual({ running: 0, waiting: 0 });
      });
    });

    it("a deadline mid-stream ends Generate DeadlineExceeded from the server, and such calls do not hold the shutdown", async () => {
      const server = await startGenerationServer(repo, { gracePeriodMs: 20_000 });
      for (let i = 0; i < 4; i++) {
        const { messages, end } = await connectStream(server.baseUrl, LONG, 150);
        expect(messages.length).toBeGreaterThan(0);
        expect(end.error?.code).toBe("deadline_exceeded");
        // The final message counts the tokens the client got, not the ones dropped after the cut.
        const chunks = messages as { tokenIds?: number[]; usage?: { completionTokens: number } }[];
        const got = chunks.reduce((n, m) => n + (m.tokenIds?.length ?? 0), 0);
        expect(chunks.at(-1)?.usage?.completionTokens).toBe(got);
      }
      // Clients that give up at their deadline too: the race that leaked in-flight counts.
      for (let i = 0; i < 4; i++) {
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 100);
        await connectStream(server.baseUrl, LONG, 100, controller.signal).catch(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = Date.now();
      await server.close();
      expect(Date.now() - started).toBeLessThan(5000);
    }, 60_000);

    it("shutdown after the grace period ends a stream with Unavailable and still unloads", async () => {
      const server = await startGenerationServer(repo, { gracePeriodMs: 0 });
      const a = await startStream(server.generation.generate(LONG), 3);
      const stopped = server.close();
      let code: Code | undefined;
      try {
        for (let r = await a.next(); !r.done; r = await a.next()) {}
      } catch (error) {
        code = ConnectError.from(error).code;
      }
      expect(code).toBe(Code.Unavailable);
      await stopped; // resolves only once the stream's lease is released and the model unloaded
      expect(server.app.registry.list()[0]?.versions.every((v) => v.state !== "ready")).toBe(true);
    }, 30_000);

    it("shutdown within the grace period lets a stream finish with its final message; new calls get Unavailable", async () => {
      const server = await startGenerationServer(repo, { gracePeriodMs: 30_000 });
      const a = await startStream(server.generation.generate({ ...LONG, maxTokens: 300 }), 1);
      const stopped = server.close();
      expect(await codeOf(ids(server.generation.generate(DOG)))).toBe(Code.Unavailable);
      let last: GenerateResponse | undefined;
      let count = a.got;
      for (let r = await a.next(); !r.done; r = await a.next()) {
        count += r.value.tokenIds.length;
        last = r.value;
      }
      expect(last?.finishReason).toBe(FinishReason.LENGTH);
      expect(last?.usage?.completionTokens).toBe(300);
      expect(count).toBe(300);
      await stopped;
    }, 30_000);
  },
);
