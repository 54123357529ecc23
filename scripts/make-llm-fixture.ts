import { resolve } from "node:path";
import { Command } from "commander";
import { LLM_FIXTURE_SHAPES } from "./fixtures/llama-decoder-shapes.js";
import { writeLlmFixture } from "./fixtures/llm-fixture.js";

/** Where the benchmark and the skipping tests look for the real-size fixture by default. */
const DEFAULT_OUT = "test/.output/llm-models";

/**
 * CLI: `tsx scripts/make-llm-fixture.ts [--shape smollm-135m|wide] [--out DIR] [--name NAME]`
 * writes a random-weight Llama decoder of a real model's shape (on demand: the
 * 135M shape writes 538 MB and is not part of the default test run).
 */
async function main(argv: readonly string[]): Promise<void> {
  const shapes = Object.keys(LLM_FIXTURE_SHAPES).join(", ");
  const program = new Command("make-llm-fixture")
    .description("Write a random-weight LLM fixture in the HF Optimum layout (no network)")
    .option("--shape <shape>", `one of: ${shapes}`, "smollm-135m")
    .option("--out <dir>", "model repository directory to write into", DEFAULT_OUT)
    .option("--name <name>", "model folder name (default: the shape, '-' as '_')")
    .parse([...argv]);
  const opts = program.opts<{ shape: string; out: string; name?: string }>();
  const shape = LLM_FIXTURE_SHAPES[opts.shape];
  if (shape === undefined) throw new Error(`unknown --shape "${opts.shape}"; expected ${shapes}`);
  const name = opts.name ?? opts.shape.replaceAll("-", "_");
  const started = performance.now();
  const fixture = await writeLlmFixture(resolve(opts.out), name, shape);
  const ms = Math.round(performance.now() - started);
  const mb = (fixture.weightBytes / 1e6).toFixed(0);
  console.log(`wrote ${fixture.dir}: ${fixture.parameters} parameters, ${mb} MB, in ${ms} ms`);
}

main(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
