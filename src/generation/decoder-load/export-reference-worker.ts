/**
 * Entry point of the thread `startExportReference` starts: opens the export without
 * weight prepacking, on one intra-op thread, reads its decoder signature, records what the append-KV check
 * compares the rewrite with, posts that as its one message and ends.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createInProcessSession } from "../../runtime/in-process-session.js";
import { readDecoderSignature } from "../engine/decoder-signature.js";
import { recordReference } from "../kv-rewrite/append-kv-check.js";
import type { ExportReferenceData, ExportReferenceMessage } from "./export-reference.js";

const port = parentPort;
if (port === null) throw new Error("export-reference-worker.ts must run in a worker thread");
const post = (message: ExportReferenceMessage) => port.postMessage(message);

async function record({ modelPath, options, config }: ExportReferenceData): Promise<void> {
  // One intra-op thread: the other core is the rewrite's, whose session opens meanwhile
  // (measured: its creation 1,571-1,592 ms against 1,624-1,663, and these runs faster).
  const unpacked = { ...options, prepackWeights: false, intraOpThreads: 1 };
  const session = await createInProcessSession(modelPath, unpacked);
  try {
    const specs = [...session.inputs, ...session.outputs];
    // A float16 export is opened through a cast (openOriginal): left to the usual path.
    if (specs.some((s) => s.dtype === "float16")) throw new Error("float16 inputs or outputs");
    const signature = readDecoderSignature(session.inputs, session.outputs, config);
    post({ type: "recorded", signature, reference: await recordReference(session, signature) });
  } finally {
    await session.release();
  }
}

record(workerData as ExportReferenceData).catch((error: unknown) => {
  post({ type: "failed", message: error instanceof Error ? error.message : String(error) });
});
