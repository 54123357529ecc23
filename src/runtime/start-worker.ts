import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * The worker script `name` beside the module at `moduleUrl` (its `import.meta.url`):
 * the `.ts` source when that module runs from source (tsx/vitest), the compiled `.js`
 * under `dist/`.
 */
export function siblingScriptUrl(name: string, moduleUrl: string): URL {
  const ext = moduleUrl.endsWith(".ts") ? "ts" : "js";
  return new URL(`./${name}.${ext}`, moduleUrl);
}

/** The default session worker script next to this module (see {@link siblingScriptUrl}). */
export function defaultWorkerUrl(): URL {
  return siblingScriptUrl("session-worker", import.meta.url);
}

/**
 * Starts a worker thread on `url`. A `.js` script starts as is. A `.ts` script (when
 * the server runs from source) needs tsx inside the worker: `execArgv: ["--import",
 * "tsx"]` does not apply to a worker's entry module on Node 20, so a tiny eval'd
 * bootstrap registers tsx's loader first and then imports the script.
 */
export function startWorker(url: URL, options: Omit<WorkerOptions, "eval">): Worker {
  if (!url.pathname.endsWith(".ts")) return new Worker(url, options);
  const bootstrap = `import(${JSON.stringify(tsxApiUrl())})
    .then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** The ESM entry of `tsx/esm/api`, found via tsx's own exports map (a dev dependency). */
function tsxApiUrl(): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve("tsx/package.json");
  const manifest = require(manifestPath) as {
    exports: Record<string, { import?: { default?: string } }>;
  };
  const entry = manifest.exports["./esm/api"]?.import?.default;
  if (!entry) throw new Error(`tsx at ${manifestPath} has no ESM entry for tsx/esm/api`);
  return new URL(entry, pathToFileURL(manifestPath)).href;
}
