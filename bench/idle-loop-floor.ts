import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { EVENT_LOOP_RESOLUTION_MS } from "./server-metrics.js";
import { buildOnce } from "./server-process.js";

/** The idle sibling of bench/idle-loop.ts: its event-loop delay p99, read per run. */
export interface IdleLoop {
  /** The p99 since the previous read in ms, the resolution taken off as inferd's; resets. */
  read(): Promise<number>;
  stop(): void;
}

const SCRIPT = fileURLToPath(new URL("../dist/bench/idle-loop.js", import.meta.url));

/**
 * Starts the idle sibling (compiled, as the servers run). Its p99 during a run is the
 * machine's floor for inferd's event-loop p99 under the same load: time a runnable
 * thread waits for a core, not JavaScript work.
 */
export async function startIdleLoop(): Promise<IdleLoop> {
  await buildOnce();
  const child = fork(SCRIPT, [], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  await nextMessage(child);
  await read(child);
  return { read: () => read(child), stop: () => child.kill() };
}

async function read(child: ChildProcess): Promise<number> {
  const answer = nextMessage(child);
  child.send("read");
  const { p99Ms } = (await answer) as { p99Ms: number };
  return Math.max(0, p99Ms - EVENT_LOOP_RESOLUTION_MS);
}

function nextMessage(child: ChildProcess): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onExit = () => reject(new Error("the idle-loop process exited"));
    child.once("exit", onExit);
    child.once("message", (message) => {
      child.off("exit", onExit);
      resolve(message);
    });
  });
}
