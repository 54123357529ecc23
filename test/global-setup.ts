import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateFixtures } from "../scripts/fixtures/generate-fixtures.js";
import { LLM_WIDE_SHAPE } from "../scripts/fixtures/llama-decoder-shapes.js";
import { writeLlmFixture } from "../scripts/fixtures/llm-fixture.js";
import { FIXTURE_REPO, LLM_FIXTURE_REPO, LLM_WIDE } from "./helpers/fixtures.js";

const here = dirname(fileURLToPath(import.meta.url));
const GENERATOR_DIR = resolve(here, "../scripts/fixtures");
const STAMP = join(FIXTURE_REPO, ".generator-stamp");
const LOCK = `${FIXTURE_REPO}.lock`;
const STALE_LOCK_MS = 120_000;

/** Hash of every generator source file: the stamp changes whenever the generator does. */
async function generatorVersion(dir = GENERATOR_DIR): Promise<string> {
  const hash = createHash("sha256");
  const walk = async (d: string): Promise<void> => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        hash.update(e.name);
        hash.update(await readFile(p));
      }
    }
  };
  await walk(dir);
  return hash.digest("hex");
}

async function isFresh(version: string): Promise<boolean> {
  try {
    return (await readFile(STAMP, "utf8")).trim() === version;
  } catch {
    return false;
  }
}

/** Cross-process lock (several engineers/vitest runs share the checkout): mkdir is atomic. */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(LOCK), { recursive: true });
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch {
      const age = await stat(LOCK).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_LOCK_MS) await rm(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

/**
 * Vitest global setup: generate the fixture model repository once, unless the stamp is
 * current, and the "wide" LLM fixture in its own repository (so that no test serving
 * the whole fixture repository loads it; the 135M-shaped one there is made on demand).
 */
export async function setup(): Promise<void> {
  const version = await generatorVersion();
  if (await isFresh(version)) return;
  await withLock(async () => {
    if (await isFresh(version)) return;
    await rm(STAMP, { force: true });
    await generateFixtures(FIXTURE_REPO);
    await writeLlmFixture(LLM_FIXTURE_REPO, LLM_WIDE, LLM_WIDE_SHAPE);
    await writeFile(STAMP, `${version}\n`);
  });
}

/** Nothing to tear down: the generated models are cached across runs. */
export async function teardown(): Promise<void> {}
