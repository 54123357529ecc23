/**
 * A session worker that dies on demand, for crash-recovery tests: a run with an
 * input named `__exit__` ends the thread with process.exit(7); one named `__throw__`
 * throws an uncaught error. Anything else goes to the real session worker.
 */
import { parentPort } from "node:worker_threads";
import type { ToSessionWorker } from "../../src/runtime/worker-protocol.js";

parentPort?.on("message", (message: ToSessionWorker) => {
  if (message.type !== "run") return;
  if (message.runs.some((run) => "__exit__" in run.inputs)) process.exit(7);
  // Thrown inside the listener, so the session worker's listener never sees the job.
  if (message.runs.some((run) => "__throw__" in run.inputs)) {
    throw new Error("boom from the crashing worker");
  }
});

await import("../../src/runtime/session-worker.js");
