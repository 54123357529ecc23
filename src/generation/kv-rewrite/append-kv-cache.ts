import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { access, readdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * The version of what a cached rewrite holds: bump it when the rewrite or the load-time
 * edits start producing other bytes for the same export, so that files cached by an
 * older inferd are not served. (Serving one would still be correct, since it passed
 * the check against this very export, but it would miss the newer rewrite.)
 */
export const APPEND_KV_CACHE_VERSION = 3;

const PREFIX = ".inferd-append-kv-";

/**
 * Where the append-KV rewrite of the export at `modelPath` is kept once it passed the
 * check: a hidden file beside the export (external data files resolve from the
 * graph's own folder, and ORT refuses them through a link from elsewhere), named after
 * the SHA-256 of the export's file, `editsKey` (the load-time edits, e.g. model.json's
 * MatMulNBits accuracy level) and {@link APPEND_KV_CACHE_VERSION}. A later load that
 * finds it opens one session from it, without reading, decoding or rewriting the
 * graph, nor running the check; a changed export names another file. The file is
 * hashed as a stream, so a model with inline weights is never held whole for it.
 * Weights in external data files are not hashed: the check asks whether the rewritten
 * graph computes what the export's does, which its weights do not change.
 * @throws what reading the file throws.
 */
export async function appendKvCachePath(modelPath: string, editsKey: string): Promise<string> {
  const hash = createHash("sha256").update(`${APPEND_KV_CACHE_VERSION}\n${editsKey}\n`);
  for await (const chunk of createReadStream(modelPath)) hash.update(chunk as Buffer);
  return join(dirname(modelPath), `${PREFIX}${hash.digest("hex").slice(0, 32)}.onnx`);
}

/** Whether a rewrite was cached at `path` (see {@link appendKvCachePath}). */
export async function hasCachedRewrite(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Caches a rewrite that passed the check at `path`, written under a temporary name and
 * renamed, so that a load never finds half a file; then removes the folder's other
 * cached rewrites (and the verdict files inferd kept before), which belong to an
 * export that has since changed. Best effort: in a read-only model folder nothing is
 * kept and every load rewrites and checks the graph again. Returns whether it was kept.
 */
export async function cacheRewrite(path: string, bytes: Uint8Array): Promise<boolean> {
  const staging = `${path}.${process.pid}-${randomUUID()}.tmp`;
  try {
    await writeFile(staging, bytes, { flag: "wx" });
  } catch {
    await rm(staging, { force: true }).catch(() => undefined);
    return false;
  }
  const kept = await cacheStagedGraph(path, staging);
  if (!kept) await rm(staging, { force: true }).catch(() => undefined);
  return kept;
}

/**
 * Caches as {@link cacheRewrite} does a rewrite already written to `staged`, a file in
 * the same folder, by renaming it (no copy of the graph in memory). Returns whether it
 * was kept; when not, `staged` is left to its writer.
 */
export async function cacheStagedGraph(path: string, staged: string): Promise<boolean> {
  try {
    await rename(staged, path);
  } catch {
    return false;
  }
  const dir = dirname(path);
  const names = await readdir(dir).catch(() => [] as string[]);
  // Not this file, nor another process's staging copy of it.
  const stale = names.filter((n) => n.startsWith(PREFIX) && !n.startsWith(basename(path)));
  await Promise.all(stale.map((n) => rm(join(dir, n), { force: true }).catch(() => undefined)));
  return true;
}

/** Removes the cached rewrite at `path` (ORT refused it). Best effort. */
export async function dropCachedRewrite(path: string): Promise<void> {
  await rm(path, { force: true }).catch(() => undefined);
}
