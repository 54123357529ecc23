import type { SessionOptions } from "../../runtime/model-runtime.js";
import { siblingScriptUrl, startWorker } from "../../runtime/start-worker.js";
import type { DecoderSignature } from "../engine/decoder-signature.js";
import type { KvCheckReference } from "../kv-rewrite/append-kv-check.js";
import type { GenerationConfig } from "../request/generation-config.js";

/** What the export-reference thread is started with. */
export interface ExportReferenceData {
  readonly modelPath: string;
  readonly options: SessionOptions;
  readonly config: GenerationConfig;
}

/** The export as the append-KV check needs it: its signature and its outputs on the check's cases. */
export interface RecordedReference {
  readonly signature: DecoderSignature;
  readonly reference: KvCheckReference;
}

/** The thread's one message. */
export type ExportReferenceMessage =
  | ({ readonly type: "recorded" } & RecordedReference)
  | { readonly type: "failed"; readonly message: string };

/**
 * Records the check's reference from the export at `modelPath` (its own file, unedited)
 * in a thread of its own, while the caller opens the staged rewrite's session:
 * a first load then costs about one session creation, not two in a row (the 135M
 * fixture: ~0.9 s less of ~4 s). The export's session there skips weight prepacking:
 * it opens faster (0.9 s against 1.2) and reads external data in place, but holds a
 * copy of the weights while it runs: the caller decides whether there is room
 * (openExport's checksAlongside).
 *
 * Resolves undefined when the thread failed for any reason (the file, a float16 or
 * non-decoder export, ORT): the caller then opens the export itself, which reports
 * the failure in its own words. Never rejects. The thread is not terminated early:
 * ending a thread while ORT creates a session aborts the process, so a caller that no
 * longer needs the result still awaits it before its own thread may end.
 */
export function startExportReference(
  data: ExportReferenceData,
): Promise<RecordedReference | undefined> {
  const url = siblingScriptUrl("export-reference-worker", import.meta.url);
  return new Promise((resolve) => {
    let recorded: RecordedReference | undefined;
    try {
      const worker = startWorker(url, { workerData: data });
      worker.once("message", (message: ExportReferenceMessage) => {
        if (message.type === "recorded") recorded = message;
      });
      // Its session released and the thread gone: nothing of ORT is still running there.
      worker.once("exit", () => resolve(recorded));
      worker.once("error", () => undefined); // an "exit" follows
    } catch {
      resolve(undefined);
    }
  });
}
