import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { type KeyEntry, readKeysFile } from "./keys-file.js";

/** Options of {@link watchKeysFile}. */
export interface WatchKeysFileOptions {
  /** Called with the new keys after each change that parsed. */
  readonly onKeys: (keys: KeyEntry[]) => void;
  /** Called when a changed file cannot be read or parsed; the old keys stay. */
  readonly onError: (error: Error) => void;
  /** Quiet time after the last change before the file is re-read (editors write in steps). */
  readonly debounceMs?: number;
  /** Stops watching when it aborts. */
  readonly signal: AbortSignal;
}

/**
 * Re-reads the keys file after it changes, without a restart. The folder is watched,
 * not the file: editors and Kubernetes Secret volumes replace the file (a rename or a
 * symlink swap), which a watch on the old file never sees.
 */
export function watchKeysFile(path: string, options: WatchKeysFileOptions): void {
  if (options.signal.aborted) return;
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    timer = undefined;
    readKeysFile(path).then(
      (keys) => {
        if (!options.signal.aborted) options.onKeys(keys);
      },
      (error: Error) => {
        if (!options.signal.aborted) options.onError(error);
      },
    );
  };
  const watcher: FSWatcher = watch(dirname(path), (_event, file) => {
    // Kubernetes swaps a `..data` symlink, so any change in the folder may be ours.
    if (file !== null && file !== name && !file.startsWith("..")) return;
    clearTimeout(timer);
    timer = setTimeout(reload, options.debounceMs ?? 200);
  });
  watcher.on("error", (error) => options.onError(error));
  options.signal.addEventListener("abort", () => {
    clearTimeout(timer);
    watcher.close();
  });
}
