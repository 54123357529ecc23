import { lstat, readdir, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";

/** A folder entry the scan passed over, and why. */
export interface SkippedEntry {
  /** The entry's path inside the repository, e.g. "iris/latest". */
  readonly path: string;
  readonly reason: string;
  /** A hidden entry, kept on purpose (a staging folder, a ConfigMap volume's `..data`). */
  readonly hidden: boolean;
}

/** How the scan treats symbolic links, and whom it tells of what it skips. */
export interface FolderScanOptions {
  /**
   * Follow symlinks that resolve outside the repository (`--allow-symlinks-outside-repository`).
   * Off by default: a model name is a folder directly inside the repository, and a link
   * must not turn it into a way to serve any file the server can read.
   */
  readonly allowSymlinksOutside?: boolean;
  /** Told of every folder entry the scan skips, with the reason. */
  readonly onSkip?: (skipped: SkippedEntry) => void;
}

/** Thrown for a model folder that the scan refuses (a symlink out of the repository, a broken one). */
export class RefusedFolderError extends Error {}

/**
 * The sub-folders of `<repository>/<inside>`, symlinks to folders followed (Kubernetes
 * ConfigMap and Secret volumes and many model stores are symlinks), in no given order.
 * Hidden entries, broken symlinks and symlinks out of the repository are reported to
 * `onSkip`; plain files are not folders and pass unmentioned.
 */
export async function listFolders(
  repository: string,
  inside: string,
  options: FolderScanOptions,
): Promise<string[]> {
  const entries = await readdir(join(repository, inside), { withFileTypes: true });
  const kept: string[] = [];
  for (const entry of entries) {
    const path = inside === "" ? entry.name : `${inside}/${entry.name}`;
    if (!entry.isDirectory() && !entry.isSymbolicLink()) continue;
    const hidden = entry.name.startsWith(".");
    const reason = hidden
      ? "hidden (its name starts with a dot)"
      : entry.isDirectory()
        ? undefined
        : await refusal(repository, path, options);
    if (reason === undefined) kept.push(entry.name);
    else if (reason !== NOT_A_FOLDER) options.onSkip?.({ path, reason, hidden });
  }
  return kept;
}

/**
 * Resolves when `<repository>/<path>` is a folder the scan takes; throws
 * {@link RefusedFolderError} naming the reason for a symlink it does not follow,
 * and a plain Error when there is no folder at all.
 */
export async function assertFolder(
  repository: string,
  path: string,
  options: FolderScanOptions,
): Promise<void> {
  const reason = await refusal(repository, path, options);
  // Missing, or a plain file: an ordinary Error, as reading the folder would throw.
  if (reason === NOT_A_FOLDER) throw new Error(`"${path}" is not a folder`);
  if (reason !== undefined) throw new RefusedFolderError(`"${path}" is skipped: ${reason}`);
}

const NOT_A_FOLDER = "not a folder";

/** Why `<repository>/<path>` is not followed, or undefined when it is a folder the scan takes. */
async function refusal(
  repository: string,
  path: string,
  options: FolderScanOptions,
): Promise<string | undefined> {
  const full = join(repository, path);
  // Gone since it was listed (a version folder removed mid-scan): as if never seen.
  const entry = await lstat(full).catch(() => undefined);
  if (entry === undefined) return NOT_A_FOLDER;
  const link = entry.isSymbolicLink();
  const target = await stat(full).catch((error: NodeJS.ErrnoException) => error);
  if (target instanceof Error) return `broken symlink (${target.code ?? target.message})`;
  if (!target.isDirectory()) return NOT_A_FOLDER;
  if (!link || options.allowSymlinksOutside) return undefined;
  const [root, real] = await Promise.all([realpath(repository), realpath(full)]);
  const within = relative(root, real);
  if (within === "") return "symlink to the repository itself";
  // Not startsWith(".."): ConfigMap volumes keep their files in "..<timestamp>" folders.
  if (within === ".." || within.startsWith(`..${sep}`) || isAbsolute(within)) {
    return `symlink to ${real}, outside the repository (--allow-symlinks-outside-repository follows it)`;
  }
  return undefined;
}
