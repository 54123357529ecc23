/**
 * Worker-thread load generator for tests that measure the server's event loop: the
 * calls' own work (framing, buffers, GC) happens in this thread's isolate, not on the
 * loop being measured. Protocol: workerData {@link LoadPlan}; posts "ready" after one
 * warm-up call, waits for "start", then posts a {@link LoadResult}.
 */
import { parentPort, workerData } from "node:worker_threads";
import * as grpc from "@grpc/grpc-js";

export interface LoadPlan {
  /** host:port */
  readonly target: string;
  readonly method: string;
  /** Serialized request message, sent as is. */
  readonly body: Uint8Array;
  readonly concurrency: number;
  readonly durationMs: number;
}

export interface LoadResult {
  readonly completed: number;
  readonly errors: string[];
}

const plan = workerData as LoadPlan;
const client = new grpc.Client(plan.target, grpc.credentials.createInsecure());
const body = Buffer.from(plan.body);

function call(): Promise<void> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      plan.method,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      (error) => (error ? reject(error) : resolve()),
    ),
  );
}

async function run(): Promise<LoadResult> {
  const until = Date.now() + plan.durationMs;
  let completed = 0;
  const errors: string[] = [];
  await Promise.all(
    Array.from({ length: plan.concurrency }, async () => {
      while (Date.now() < until) {
        await call().then(
          () => completed++,
          (e: Error) => errors.push(e.message),
        );
      }
    }),
  );
  return { completed, errors };
}

await call();
parentPort?.once("message", () => {
  void run().then((result) => {
    client.close();
    parentPort?.postMessage(result);
  });
});
parentPort?.postMessage("ready");
