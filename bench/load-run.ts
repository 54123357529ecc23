import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { BenchModel } from "./bench-repository.js";
import { benchRow } from "./in-process-limit.js";

/** What `bench/grpc-load.ts` prints for one run. */
export interface LoadResult {
  readonly calls: number;
  readonly errors: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  readonly rowsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly firstError?: string;
}

export interface LoadRunOptions {
  readonly target: string;
  readonly model: BenchModel;
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  /** HTTP/2 connections the generator spreads its workers over. */
  readonly channels: number;
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** A one-row PredictRequest for `model`, in protobuf JSON form (what grpc-load takes). */
export function predictRequestJson(model: BenchModel): string {
  return JSON.stringify({
    model: model.name,
    inputs: {
      [model.input]: {
        dtype: "DATA_TYPE_FLOAT32",
        shape: [1, model.rowWidth],
        floatData: benchRow(model.rowWidth),
      },
    },
  });
}

/**
 * Runs the closed-loop load generator as its own process (its own core's worth of
 * event loop, not the server's) and parses its JSON line.
 * @throws Error with the generator's stderr when it fails.
 */
export function runLoad(options: LoadRunOptions): Promise<LoadResult> {
  const args = [
    "--import",
    "tsx",
    "bench/grpc-load.ts",
    "--target",
    options.target,
    "--request",
    predictRequestJson(options.model),
    "--concurrency",
    String(options.concurrency),
    "--duration-ms",
    String(options.durationMs),
    "--warmup-ms",
    String(options.warmupMs),
    "--channels",
    String(options.channels),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      const line = stdout.trim().split("\n").at(-1) ?? "";
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        resolve(JSON.parse(line) as LoadResult);
      } catch (error) {
        reject(new Error(`grpc-load failed (${(error as Error).message}): ${stderr}${stdout}`));
      }
    });
  });
}
