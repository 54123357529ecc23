import { resolve } from "node:path";
import { Command } from "commander";
import { generateFixtures } from "./fixtures/generate-fixtures.js";

/** CLI: `tsx scripts/make-fixtures.ts --out DIR [--heavy]` writes the demo/test model repository. */
async function main(argv: readonly string[]): Promise<void> {
  const program = new Command("make-fixtures")
    .description("Generate inferd's demo/test ONNX model repository (no network, deterministic)")
    .requiredOption("--out <dir>", "model repository directory to write")
    .option("--heavy", "also write mlp_heavy (~10M parameters, ~40 MB)", false)
    .parse([...argv]);
  const opts = program.opts<{ out: string; heavy: boolean }>();
  const outDir = resolve(opts.out);
  const started = performance.now();
  const manifest = await generateFixtures(outDir, { heavy: opts.heavy });
  const ms = Math.round(performance.now() - started);
  for (const [version, model] of Object.entries(manifest.iris.versions)) {
    console.log(`iris v${version}: training accuracy ${model.accuracy.toFixed(4)}`);
  }
  if (manifest.mlpHeavyParameters !== null)
    console.log(`mlp_heavy: ${manifest.mlpHeavyParameters} parameters`);
  console.log(`wrote ${manifest.models.map((m) => m.name).join(", ")} to ${outDir} in ${ms} ms`);
}

main(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
