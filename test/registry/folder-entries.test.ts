import { mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RefusedFolderError, type SkippedEntry } from "../../src/registry/folder-entries.js";
import { scanModel, scanRepository } from "../../src/registry/repository-scanner.js";
import { addVersion, makeRepo, removeRepo } from "./registry-fixtures.js";

const folders: string[] = [];
afterEach(async () => {
  await Promise.all(folders.splice(0).map(removeRepo));
});

/** A folder outside any repository holding `<name>/1/model.onnx` and a version folder `v`. */
async function outsideStore(): Promise<string> {
  const store = await mkdtemp(join(tmpdir(), "inferd-store-"));
  folders.push(store);
  await addVersion(store, "ext", 1);
  await mkdir(join(store, "v"));
  await writeFile(join(store, "v", "model.onnx"), "dummy");
  return store;
}

const versionsOf = (scans: { name: string; versions: readonly number[] }[]) =>
  Object.fromEntries(scans.map((s) => [s.name, s.versions]));

describe("scanRepository and symlinks", () => {
  it("follows model and version symlinks inside the repository (a ConfigMap volume's layout)", async () => {
    const repo = await makeRepo({});
    folders.push(repo);
    // kubelet: files in "..<timestamp>", "..data" links to it, each top entry links through "..data".
    await addVersion(join(repo, "..2026_01_01"), "iris", 1);
    await symlink("..2026_01_01", join(repo, "..data"));
    await symlink(join("..data", "iris"), join(repo, "iris"));
    await addVersion(repo, "store", 1);
    await addVersion(join(repo, "store"), ".v", 2);
    await symlink(join(".v", "2"), join(repo, "store", "2"));
    const skipped: SkippedEntry[] = [];
    const scans = await scanRepository(repo, { onSkip: (s) => skipped.push(s) });
    expect(versionsOf(scans)).toEqual({ iris: [1], store: [1, 2] });
    expect(skipped.map((s) => [s.path, s.reason, s.hidden])).toEqual(
      expect.arrayContaining([
        ["..2026_01_01", "hidden (its name starts with a dot)", true],
        ["..data", "hidden (its name starts with a dot)", true],
        ["store/.v", "hidden (its name starts with a dot)", true],
      ]),
    );
    expect(skipped).toHaveLength(3);
  });

  it("refuses symlinks out of the repository unless allowed, and says why", async () => {
    const store = await outsideStore();
    const repo = await makeRepo({ iris: { versions: [1] } });
    folders.push(repo);
    await symlink(join(store, "ext"), join(repo, "ext"));
    await symlink(join(store, "v"), join(repo, "iris", "2"));
    const skipped: SkippedEntry[] = [];
    const scans = await scanRepository(repo, { onSkip: (s) => skipped.push(s) });
    expect(versionsOf(scans)).toEqual({ iris: [1] });
    expect(skipped.map((s) => s.path).sort()).toEqual(["ext", "iris/2"]);
    expect(skipped[0]?.reason).toMatch(
      /^symlink to .*, outside the repository \(--allow-symlinks-outside-repository follows it\)$/,
    );
    const refused = await scanModel(repo, "ext").catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RefusedFolderError);
    expect((refused as Error).message).toMatch(/^"ext" is skipped: symlink to .*\/ext, outside/);

    const allowed = await scanRepository(repo, { allowSymlinksOutside: true });
    expect(versionsOf(allowed)).toEqual({ ext: [1], iris: [1, 2] });
  });

  it("reports broken symlinks and folders that are not versions; plain files pass unmentioned", async () => {
    const repo = await makeRepo({ iris: { versions: [1] } });
    folders.push(repo);
    await symlink(join(repo, "nowhere"), join(repo, "gone"));
    await mkdir(join(repo, "iris", "latest"));
    await mkdir(join(repo, "iris", "0"));
    await symlink(join(repo, "iris"), join(repo, "iris", "3"));
    await writeFile(join(repo, "iris", "README"), "notes");
    await writeFile(join(repo, "notes.txt"), "notes");
    const skipped: SkippedEntry[] = [];
    const scans = await scanRepository(repo, { onSkip: (s) => skipped.push(s) });
    // A link back to its own model is inside the repository: a version folder like any other.
    expect(versionsOf(scans)).toEqual({ iris: [1, 3] });
    const notVersion = "not a version folder (a version is a whole number from 1: 1, 2, ...)";
    expect(skipped.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: "gone", reason: "broken symlink (ENOENT)", hidden: false },
      { path: "iris/0", reason: notVersion, hidden: false },
      { path: "iris/latest", reason: notVersion, hidden: false },
    ]);
  });
});
