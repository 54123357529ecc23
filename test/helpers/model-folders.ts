import { cp, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import type { WatchModelsResponse } from "../../gen/inferd/v1/model_pb.js";

/**
 * Adds version `to` of `model` as a copy of version `from`, atomically: the copy is
 * made in a hidden folder (which the scanner skips) and renamed into place, so a poll
 * never sees a version folder without its model.onnx.
 */
export async function copyVersion(
  repo: string,
  model: string,
  from: number,
  to: number,
): Promise<void> {
  const staging = join(repo, model, `.staging-${to}`);
  await cp(join(repo, model, String(from)), staging, { recursive: true });
  await rename(staging, join(repo, model, String(to)));
}

/** Removes version folder `version` of `model`. */
export async function removeVersion(repo: string, model: string, version: number): Promise<void> {
  await rm(join(repo, model, String(version)), { recursive: true, force: true });
}

/** A WatchModels stream collected in the background until `stop()`. */
export interface CollectedEvents {
  readonly events: WatchModelsResponse[];
  stop(): Promise<void>;
}

/**
 * Consumes `stream` into an array; `stop()` aborts it and waits for the consumer to
 * finish (a Canceled ending is the expected one; anything else is rethrown).
 */
export function collectEvents(
  open: (signal: AbortSignal) => AsyncIterable<WatchModelsResponse>,
): CollectedEvents {
  const controller = new AbortController();
  const events: WatchModelsResponse[] = [];
  const done = (async () => {
    for await (const event of open(controller.signal)) events.push(event);
  })().catch((error: unknown) => {
    if (ConnectError.from(error).code !== Code.Canceled) throw error;
  });
  return {
    events,
    async stop() {
      controller.abort();
      await done;
    },
  };
}
