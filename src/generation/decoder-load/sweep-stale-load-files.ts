import { readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";

/** The temporary graphs a load writes beside the export: `.inferd-<kind>-<pid>-<uuid>.onnx`. */
const LOAD_FILE = /^\.inferd-(?:edited|staged)-(\d+)-[0-9a-f-]{36}\.onnx$/;

/**
 * Removes the temporary graphs (edited or staged for the append-KV check, see
 * graph-tools.ts and staged-graph.ts) that a load in a process no longer running left
 * beside the export at `modelPath`: a load removes its own when it ends, but a crash or
 * a kill in the middle of one leaves a copy of the graph (hundreds of megabytes for
 * inline weights) that nothing else would ever delete. Files of a live process, this
 * one included, are left alone: a load may still be using them. Never throws (a folder
 * that cannot be read or written is the load's to report).
 */
export async function sweepStaleLoadFiles(modelPath: string): Promise<void> {
  const dir = dirname(modelPath);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = LOAD_FILE.exec(name)?.[1];
    if (pid === undefined || isRunning(Number(pid))) continue;
    await rm(join(dir, name), { force: true }).catch(() => undefined);
  }
}

/** Whether a process `pid` exists (a signal-0 probe: EPERM means it does, as another user's). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
