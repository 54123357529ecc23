import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeLinkedRepo, removeRepo } from "../../generation-e2e/make-linked-repo.js";
import { hasSharedStories, SHARED_STORIES } from "../../helpers/fixtures.js";
import { type RunningInferd, startInferd } from "../../helpers/start-inferd.js";

interface GoldenCase {
  prompt: string;
  prompt_token_ids: number[];
  text: string;
  generated_text: string;
}

interface Generated {
  model_name: string;
  model_version: string;
  text_output: string;
}

const post = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/** The `data:` events of a server-sent event stream, parsed; fails on anything else. */
async function events(res: Response): Promise<unknown[]> {
  const text = await res.text();
  expect(text.endsWith("\n\n")).toBe(true);
  return text
    .slice(0, -2)
    .split("\n\n")
    .map((block) => {
      expect(block.startsWith("data: ")).toBe(true);
      return JSON.parse(block.slice("data: ".length)) as unknown;
    });
}

describe("Triton's generate extension on the fixture tiny_llama", () => {
  let inferd: RunningInferd;
  let base: string;
  beforeAll(async () => {
    inferd = await startInferd({ models: ["iris", "tiny_llama"] });
    base = inferd.baseUrl;
  }, 60_000);
  afterAll(async () => {
    await inferd?.close();
  });

  const generate = (path: string, body: unknown) => fetch(`${base}/v2/models/${path}`, post(body));

  it("streams deltas that make up the whole answer, which starts with the prompt unless excluded", async () => {
    const request = { text_input: "hello", max_tokens: 8, parameters: { temperature: 0 } };
    const whole = await generate("tiny_llama/generate", request);
    expect(whole.status).toBe(200);
    const withPrompt = (await whole.json()) as Generated;
    const excluded = (await (
      await generate("tiny_llama/versions/1/generate", {
        ...request,
        exclude_input_in_output: true,
      })
    ).json()) as Generated;
    expect(excluded).toMatchObject({ model_name: "tiny_llama", model_version: "1" });
    expect(excluded.text_output.length).toBeGreaterThan(0);
    expect(withPrompt).toEqual({ ...excluded, text_output: `hello${excluded.text_output}` });
    const stream = await generate("tiny_llama/generate_stream", request);
    expect(stream.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const deltas = (await events(stream)) as Generated[];
    expect(deltas.length).toBeGreaterThan(1);
    for (const d of deltas)
      expect(d).toMatchObject({ model_name: "tiny_llama", model_version: "1" });
    expect(deltas.map((d) => d.text_output).join("")).toBe(excluded.text_output);
  });

  it("answers request errors before the stream starts, as JSON with the spec's statuses", async () => {
    const cases: [string, unknown, number, string][] = [
      ["nope/generate", { text_input: "a" }, 404, 'model "nope" not found'],
      ["tiny_llama/versions/7/generate_stream", { text_input: "a" }, 404, "version 7"],
      ["iris/generate", { text_input: "a" }, 400, "is not a generative model"],
      ["tiny_llama/generate", { prompt: "a" }, 400, "text_input"],
      ["tiny_llama/generate", { text_input: "a", best_of: 2 }, 400, 'Unrecognized key: "best_of"'],
      [
        "tiny_llama/generate",
        { text_input: "a", top_k: 1, parameters: { top_k: 2 } },
        400,
        "top_k is given both",
      ],
      [
        "tiny_llama/generate",
        { text_input: "a", parameters: { temperature: -1 } },
        400,
        "temperature",
      ],
      [
        "tiny_llama/generate_stream",
        { text_input: "a", parameters: { stream: false } },
        400,
        "use /generate",
      ],
      ["tiny_llama/generate", { text_input: "a", max_tokens: 0 }, 400, "max_tokens"],
    ];
    for (const [path, body, status, message] of cases) {
      const res = await generate(path, body);
      expect([path, res.status, res.headers.get("content-type")]).toEqual([
        path,
        status,
        "application/json; charset=utf-8",
      ]);
      expect(((await res.json()) as { error: string }).error).toContain(message);
    }
  });
});

const VERSION_DIR = join(SHARED_STORIES, "1");
const golden = hasSharedStories()
  ? (JSON.parse(readFileSync(join(SHARED_STORIES, "golden.json"), "utf8")) as {
      steps: number;
      cases: GoldenCase[];
    })
  : { steps: 0, cases: [] };
/** run.c's -n counts positions after BOS: generated = steps - (prompt tokens without BOS). */
const maxTokensOf = (c: GoldenCase) => golden.steps - (c.prompt_token_ids.length - 1);

describe.skipIf(!hasSharedStories())(
  "generate and generate_stream on stories260k reproduce golden.json (needs ../shared/models/stories260k, skipped when absent)",
  () => {
    let repo: string;
    let inferd: RunningInferd;
    beforeAll(async () => {
      repo = await makeLinkedRepo([{ name: "stories260k", versions: { 1: VERSION_DIR } }]);
      inferd = await startInferd({ repository: repo });
    }, 60_000);
    afterAll(async () => {
      await inferd?.close();
      if (repo) await removeRepo(repo);
    });

    it("reproduces every golden case's text greedily, whole (with and without the prompt) and streamed", async () => {
      expect(golden.cases.length).toBeGreaterThan(0);
      const url = `${inferd.baseUrl}/v2/models/stories260k`;
      for (const c of golden.cases) {
        // Top-level max_tokens (TensorRT-LLM's style) and sampling in parameters (vLLM's).
        const request = {
          text_input: c.prompt,
          max_tokens: maxTokensOf(c),
          parameters: { temperature: 0 },
        };
        const whole = (await (await fetch(`${url}/generate`, post(request))).json()) as Generated;
        expect(whole).toEqual({
          model_name: "stories260k",
          model_version: "1",
          text_output: c.text,
        });
        const excluded = (await (
          await fetch(`${url}/generate`, post({ ...request, exclude_input_in_output: true }))
        ).json()) as Generated;
        expect(excluded.text_output).toBe(c.generated_text);
        const stream = await fetch(`${url}/generate_stream`, post(request));
        expect(stream.status).toBe(200);
        const deltas = (await events(stream)) as Generated[];
        expect(deltas.map((d) => d.text_output).join("")).toBe(c.generated_text);
      }
    });
  },
);
