import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** A running `inferd` child process. */
export interface ServerProcess {
  readonly port: number;
  readonly pid: number;
  /** SIGTERM, then wait for exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  /** Serve this repository with inferd; absent starts bench/noop-server.ts instead. */
  readonly modelRepository?: string;
  /**
   * Instead: run this bench script with these arguments (e.g. the naive peers), given
   * `--port P`; it is ready when it prints a line `ready` on stdout.
   */
  readonly script?: readonly string[];
  /** For the no-op server: answer gRPC through connect-node only (default: as inferd does). */
  readonly connectOnly?: boolean;
  /** Extra node flags, e.g. ["--cpu-prof", "--cpu-prof-dir=/tmp/prof"]. */
  readonly nodeFlags?: readonly string[];
  readonly readyTimeoutMs?: number;
  /** More inferd flags after the defaults, e.g. ["--model-control-mode", "poll"]. */
  readonly extraArgs?: readonly string[];
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));
let built: Promise<void> | undefined;

/**
 * Compiles the repository (tsconfig.json: src, bench, scripts) to dist/ once per bench
 * process. Servers run as compiled JavaScript, as the Docker image ships inferd: under
 * tsx, esbuild's keepNames wraps every closure in a `__name` call (~4 % of the main
 * thread per Predict in a profile), a cost no deployment pays.
 */
export function buildOnce(): Promise<void> {
  built ??= promisify(execFile)(process.execPath, [
    `${ROOT}/node_modules/typescript/bin/tsc`,
    "-p",
    `${ROOT}/tsconfig.json`,
  ]).then(() => undefined);
  return built;
}

/** A port the OS just had free on 127.0.0.1 (closed again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts the production server (`src/cli/main.ts` compiled, what `npm start` and the
 * Docker image run, with its default flags), the
 * no-op transport floor or another bench `script` as a separate process, so it owns
 * its event loop, and resolves once GET /readyz answers 200 (every model loaded and
 * warmed up), or for a script once it prints `ready`.
 * @throws Error with the child's stderr when it exits or is not ready in time.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  await buildOnce();
  const port = await freePort();
  // BENCH_NODE_FLAGS="--max-semi-space-size=32" tries V8 flags on every server started.
  // BENCH_INFERD_NODE_FLAGS: the same for inferd servers only, so that the naive and
  // no-op servers stay an unchanged control for the machine's load.
  const flagsOf = (value: string | undefined) => value?.split(" ").filter(Boolean) ?? [];
  const envFlags = flagsOf(process.env.BENCH_NODE_FLAGS);
  if (options.script === undefined && options.modelRepository !== undefined)
    envFlags.push(...flagsOf(process.env.BENCH_INFERD_NODE_FLAGS));
  const args = [...envFlags, ...(options.nodeFlags ?? []), ...entry(options)];
  args.push("--port", String(port), ...(options.extraArgs ?? []));
  // inferd runs with its default flags, access log included: its lines go to /dev/null.
  const stdout = options.script === undefined && options.modelRepository !== undefined;
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ["ignore", stdout ? "ignore" : "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const printedReady = new Promise<void>((resolve) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (options.script !== undefined && /^ready$/m.test(chunk.toString())) resolve();
      else if (options.script === undefined) process.stdout.write(chunk);
    });
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  try {
    const timeoutMs = options.readyTimeoutMs ?? 120_000;
    await (options.script === undefined
      ? waitReady(port, exited, timeoutMs)
      : waitPrinted(printedReady, exited, timeoutMs));
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return { port, pid: child.pid ?? 0, stop: () => stop(child, exited) };
}

/** The compiled script and its arguments; "bench/x.ts" runs as "dist/bench/x.js". */
function entry(options: ServerProcessOptions): readonly string[] {
  const compiled = (script: string) => `dist/${script.replace(/\.ts$/, ".js")}`;
  if (options.script !== undefined) {
    const [script = "", ...rest] = options.script;
    return [compiled(script), ...rest];
  }
  if (options.modelRepository === undefined)
    return [compiled("bench/noop-server.ts"), ...(options.connectOnly ? ["--connect-only"] : [])];
  const main = compiled("src/cli/main.ts");
  return [main, "--model-repository", options.modelRepository, "--host", "127.0.0.1"];
}

async function waitPrinted(ready: Promise<void>, exited: Promise<unknown>, timeoutMs: number) {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`not ready within ${timeoutMs} ms`), timeoutMs);
  });
  const failure = await Promise.race([
    ready.then(() => undefined),
    exited.then(() => "exited before it was ready"),
    late,
  ]);
  clearTimeout(timer);
  if (failure !== undefined) throw new Error(`the server process ${failure}`);
}

async function waitReady(port: number, exited: Promise<unknown>, timeoutMs: number) {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (gone) throw new Error("the server process exited before it was ready");
    const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    // Polled often: spawn-to-ready is a benchmark figure (issue 17, item 6), and a
    // 200 ms poll read ~100 ms late on average. A probe costs the server ~0.1 ms.
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the server was not ready within ${timeoutMs} ms`);
}

async function stop(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}
