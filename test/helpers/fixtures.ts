import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** Absolute path of the generated test model repository (written once per run by `test/global-setup.ts`). */
export const FIXTURE_REPO: string = resolve(here, "../.output/models");

/**
 * Absolute path of the shared stories260k model directory (`<repo>/stories260k`, real weights).
 * It lives outside the checkout and may be absent; guard tests with {@link hasSharedStories}.
 */
export const SHARED_STORIES: string = resolve(here, "../../../shared/models/stories260k");

/** True when the shared stories260k model (version 1) is present on this machine. */
export function hasSharedStories(): boolean {
  return existsSync(resolve(SHARED_STORIES, "1", "model.onnx"));
}

/**
 * The repository of Llama-shaped LLM fixtures (scripts/fixtures/llm-fixture.ts): the
 * global setup writes {@link LLM_WIDE} there; `npm run fixtures:llm` writes
 * {@link LLM_SMOLLM_135M}, too large for every test run.
 */
export const LLM_FIXTURE_REPO: string = resolve(here, "../.output/llm-models");

/** The CI-sized LLM fixture: SmolLM2-135M's width on 2 layers. */
export const LLM_WIDE = "wide";

/** The real-size LLM fixture: SmolLM2-135M's exact shape, random weights. */
export const LLM_SMOLLM_135M = "smollm_135m";

/** True when the LLM fixture `name` has been written (`npm run fixtures:llm` for the 135M one). */
export function hasLlmFixture(name: string): boolean {
  return existsSync(resolve(LLM_FIXTURE_REPO, name, "1", "model.onnx"));
}
