import { createHash } from "node:crypto";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type KeyEntry, parseKeysFile } from "../../src/auth/keys-file.js";
import { watchKeysFile } from "../../src/auth/watch-keys-file.js";
import { waitFor } from "../helpers/wait-for.js";

const hash = (key: string) => createHash("sha256").update(key).digest("hex");

describe("parseKeysFile", () => {
  it("reads YAML and JSON alike, hashes only, limits optional", () => {
    const yaml = `keys:
  - name: app
    sha256: ${hash("s1").toUpperCase()}
    scopes: [infer, read]
    requests_per_second: 5
    burst: 10
    generated_tokens_per_second: 100
  - name: ops
    sha256: ${hash("s2")}
    scopes: [admin]
`;
    const json = JSON.stringify({
      keys: [
        {
          name: "app",
          sha256: hash("s1"),
          scopes: ["infer", "read"],
          requests_per_second: 5,
          burst: 10,
          generated_tokens_per_second: 100,
        },
        { name: "ops", sha256: hash("s2"), scopes: ["admin"] },
      ],
    });
    const expected: KeyEntry[] = [
      {
        name: "app",
        sha256: hash("s1"),
        scopes: ["infer", "read"],
        requests_per_second: 5,
        burst: 10,
        generated_tokens_per_second: 100,
      },
      { name: "ops", sha256: hash("s2"), scopes: ["admin"] },
    ];
    expect(parseKeysFile(yaml, "k.yaml")).toEqual(expected);
    expect(parseKeysFile(json, "k.json")).toEqual(expected);
  });

  it.each([
    ["keys: [{name: a, sha256: abc, scopes: [infer]}]", /k.yaml: keys.0.sha256: 64 hex digits/],
    [`keys: [{name: a, sha256: ${hash("x")}, scopes: [write]}]`, /keys.0.scopes.0/],
    [`keys: [{name: a, sha256: ${hash("x")}, scopes: []}]`, /keys.0.scopes/],
    [`keys: [{name: a, sha256: ${hash("x")}, scopes: [infer], key: x}]`, /keys.0/],
    [
      `keys: [{name: a, sha256: ${hash("x")}, scopes: [infer], requests_per_second: 0}]`,
      /requests_per_second/,
    ],
    [
      `keys: [{name: a, sha256: ${hash("x")}, scopes: [infer]}, {name: a, sha256: ${hash("y")}, scopes: [read]}]`,
      /same name/,
    ],
    [
      `keys: [{name: a, sha256: ${hash("x")}, scopes: [infer]}, {name: b, sha256: ${hash("x")}, scopes: [read]}]`,
      /same sha256/,
    ],
    ["keys: [{name: a", /k.yaml: not YAML or JSON/],
    ["[]", /k.yaml: file/],
  ])("refuses %s", (text, message) => {
    expect(() => parseKeysFile(text, "k.yaml")).toThrow(message);
  });
});

describe("watchKeysFile", () => {
  let dir = "";
  const stop = new AbortController();
  afterEach(async () => {
    stop.abort();
    await rm(dir, { recursive: true, force: true });
  });

  it("re-reads the file after a change or a replacement, and reports an invalid one", async () => {
    dir = await mkdtemp(join(tmpdir(), "inferd-keys-"));
    const path = join(dir, "keys.yaml");
    const entry = (name: string) =>
      `keys: [{name: ${name}, sha256: ${hash(name)}, scopes: [read]}]`;
    await writeFile(path, entry("one"));
    const seen: string[] = [];
    const errors: string[] = [];
    watchKeysFile(path, {
      debounceMs: 20,
      signal: stop.signal,
      onKeys: (keys) => seen.push(keys.map((k) => k.name).join()),
      onError: (error) => errors.push(error.message),
    });
    await writeFile(path, entry("two"));
    await waitFor(() => seen.at(-1) === "two", 10_000);
    await writeFile(path, "keys: [{name: broken");
    await waitFor(() => errors.length > 0, 10_000);
    expect(errors[0]).toContain(`${path}: not YAML or JSON`);
    // An editor's save: write aside, rename over.
    await writeFile(join(dir, "keys.tmp"), entry("three"));
    await rename(join(dir, "keys.tmp"), path);
    await waitFor(() => seen.at(-1) === "three", 10_000);
    expect(seen.filter((s) => s === "one")).toEqual([]);
  });
});
