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
