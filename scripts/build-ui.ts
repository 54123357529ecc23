import { buildUi } from "./ui/build-ui.js";

/** CLI: `tsx scripts/build-ui.ts` bundles the browser playground into ui/dist (what the server serves). */
async function main(): Promise<void> {
  const started = performance.now();
  const { outDir, files, bytes } = await buildUi();
  const ms = Math.round(performance.now() - started);
  console.log(
    `built the playground into ${outDir} in ${ms} ms: ${files.join(", ")} (${bytes} bytes)`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
