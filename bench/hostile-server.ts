import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateFixtures } from "../scripts/fixtures/generate-fixtures.js";
import { HOSTILE_MAX_REQUEST_BYTES } from "../test/hostile/rows-grpc.js";
import { type ServerProcess, startServerProcess } from "./server-process.js";

/** An inferd process serving the hostile suite's models (iris, tiny_llama) from a temporary repository. */
export interface HostileServer {
  readonly server: ServerProcess;
  readonly repo: string;
  /** The process's resident set, in MiB, from /proc. */
  rssMiB(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Generates the fixture models into a temporary repository, keeps iris and tiny_llama,
 * and starts inferd on it as the hostile tests configure it (`--max-request-bytes`),
 * polling the folder every `pollSeconds` so that a copied version folder is a hot swap.
 */
export async function startHostileServer(pollSeconds = 1): Promise<HostileServer> {
  const scratch = await mkdtemp(join(tmpdir(), "inferd-hostile-fixtures-"));
  const repo = await mkdtemp(join(tmpdir(), "inferd-hostile-repo-"));
  await generateFixtures(scratch);
  for (const model of ["iris", "tiny_llama"]) {
    await cp(join(scratch, model), join(repo, model), { recursive: true });
  }
  await rm(scratch, { recursive: true, force: true });
  const server = await startServerProcess({
    modelRepository: repo,
    // e.g. INFERD_NODE_FLAGS="--heapsnapshot-signal=SIGUSR2" to look inside a soak's server.
    nodeFlags: (process.env.INFERD_NODE_FLAGS ?? "").split(" ").filter((flag) => flag !== ""),
    extraArgs: [
      ...["--max-request-bytes", String(HOSTILE_MAX_REQUEST_BYTES)],
      ...["--model-control-mode", "poll", "--poll-interval", String(pollSeconds)],
    ],
  });
  return {
    server,
    repo,
    rssMiB: async () => {
      const status = await readFile(`/proc/${server.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    },
    stop: async () => {
      await server.stop();
      await rm(repo, { recursive: true, force: true });
    },
  };
}

/** `--name value` from the command line as a number, else `fallback`. */
export function numberArg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at < 0 ? undefined : Number(process.argv[at + 1]);
  return value === undefined || Number.isNaN(value) ? fallback : value;
}
