import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One model of a temporary repository: version folders linked file by file. */
export interface LinkedModel {
  readonly name: string;
  /** Version number -> existing version folder (its files are symlinked, never copied). */
  readonly versions: Readonly<Record<number, string>>;
  /** Written as `<name>/model.json` when given. */
  readonly modelJson?: object;
  /** Files written into every version folder instead of linked (e.g. a patched config.json). */
  readonly files?: Readonly<Record<string, object>>;
}

/**
 * A model repository in a temp dir outside the checkout whose version folders hold
 * symlinks to the files of existing folders (the scanner lists real folders only,
 * so the folders are real and the files are links). Remove it with `rm`.
 */
export async function makeLinkedRepo(models: readonly LinkedModel[]): Promise<string> {
  const repo = await mkdtemp(join(tmpdir(), "inferd-gen-"));
  for (const model of models) {
    for (const [version, source] of Object.entries(model.versions)) {
      const dir = join(repo, model.name, version);
      await mkdir(dir, { recursive: true });
      for (const file of await readdir(source)) {
        const own = model.files?.[file];
        if (own === undefined) await symlink(join(source, file), join(dir, file));
        else await writeFile(join(dir, file), JSON.stringify(own));
      }
    }
    if (model.modelJson !== undefined) {
      await writeFile(join(repo, model.name, "model.json"), JSON.stringify(model.modelJson));
    }
  }
  return repo;
}

/** Removes a repository made by {@link makeLinkedRepo}. */
export async function removeRepo(repo: string): Promise<void> {
  await rm(repo, { recursive: true, force: true });
}
