import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { failedPrecondition, isInferdError } from "../../src/errors/inferd-error.js";
import { loadGenerativeModel } from "../../src/generation/load-generative-model.js";
import * as tokenizerModule from "../../src/generation/request/tokenizer.js";
import * as workerThread from "../../src/generation/worker/generation-worker-thread.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";

vi.mock("../../src/generation/worker/generation-worker-thread.js", async (importOriginal) => {
  const original = await importOriginal<typeof workerThread>();
  return { ...original, startGenerationWorker: vi.fn(original.startGenerationWorker) };
});

// The main thread's tokenizer only: the worker thread loads the real module, so it loads fine.
vi.mock("../../src/generation/request/tokenizer.js", async (importOriginal) => {
  const original = await importOriginal<typeof tokenizerModule>();
  return { ...original, loadTextTokenizer: vi.fn(original.loadTextTokenizer) };
});

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** What loading the model in `dir` rejects with (undefined when it loads). */
function loadError(dir: string): Promise<unknown> {
  const options = { dir, modelPath: join(dir, "model.onnx"), maxConcurrentSequences: 2 };
  return loadGenerativeModel({ ...options, maxWaiting: 2, session: {} }).then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe("loadGenerativeModel", () => {
  it("fails a chat_template that does not compile before it starts a worker, naming the model", async () => {
    const repo = await mkdtemp(join(tmpdir(), "inferd-llm-"));
    dirs.push(repo);
    const dir = join(repo, "llm_bad", "1");
    await cp(join(FIXTURE_REPO, "tiny_llama", "1"), dir, { recursive: true });
    const configPath = join(dir, "tokenizer_config.json");
    const config = JSON.parse(await readFile(configPath, "utf8")) as object;
    await writeFile(configPath, JSON.stringify({ ...config, chat_template: "{% if %}{{ broken" }));
    const start = vi.mocked(workerThread.startGenerationWorker);
    start.mockClear();
    const error = await loadError(dir);
    expect(isInferdError(error) && error.kind).toBe("failed_precondition");
    expect((error as Error).message).toMatch(
      /^model "llm_bad": the chat_template in tokenizer_config.json does not compile: /,
    );
    // No worker was started, so none can be left behind holding the process open.
    expect(start).not.toHaveBeenCalled();
  });

  it("ends the worker it started when the main thread's tokenizer fails, and reports that failure", async () => {
    const dir = join(FIXTURE_REPO, "tiny_llama", "1");
    const start = vi.mocked(workerThread.startGenerationWorker);
    start.mockClear();
    vi.mocked(tokenizerModule.loadTextTokenizer).mockRejectedValueOnce(
      failedPrecondition("the main thread's tokenizer failed"),
    );
    const error = await loadError(dir);
    expect((error as Error).message).toBe("the main thread's tokenizer failed");
    // The worker started alongside (the load's two halves overlap), loaded, and was ended.
    expect(start).toHaveBeenCalledTimes(1);
    const worker = start.mock.results[0]?.value as workerThread.GenerationWorkerThread;
    await expect(worker.ready).resolves.toMatchObject({ type: "ready" });
    expect(worker.dead).toBe(true);
  });
});
