import { createHash } from "node:crypto";
import { access, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/**
 * Where the verdict "this rewritten graph passed the check" is kept: a hidden empty
 * file beside the export, named after the SHA-256 of the rewritten bytes. Those bytes
 * are a function of the export's graph, the load-time edits and the rewrite's own
 * code, so any change to one of them names another file and the check runs again.
 * The weights in external data files are not hashed: the check asks whether the
 * rewritten graph computes the same function as the export, which its weights do not
 * change. With a verdict, a load opens one session instead of two (the export's, to
 * compare against, then the rewrite's), which halves a large model's load time.
 */
export function appendKvVerdictPath(modelPath: string, rewritten: Uint8Array): string {
  const hash = createHash("sha256").update(rewritten).digest("hex").slice(0, 32);
  return join(dirname(modelPath), `.inferd-append-kv-${hash}.ok`);
}

/** Whether the verdict at `path` (see {@link appendKvVerdictPath}) was recorded. */
export async function hasAppendKvVerdict(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Records a passed check at `path`. Best effort: in a read-only model folder nothing
 * is recorded and every load runs the check, as before verdicts were kept.
 */
export async function recordAppendKvVerdict(path: string): Promise<void> {
  await writeFile(path, "").catch(() => undefined);
}
