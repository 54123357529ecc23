import { mkdir, mkdtemp, realpath, rename, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import type { ModelRegistry, RegistryEvent } from "../../src/registry/model-registry.js";
import {
  createModelRegistry,
  type ModelRegistryOptions,
} from "../../src/registry/repository-registry.js";
import {
  addVersion,
  eventKey,
  FakeLoader,
  makeRepo,
  type RepoSpec,
  removeRepo,
  waitFor,
  writeConfig,
} from "./registry-fixtures.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  repo: string;
  loader: FakeLoader;
  registry: ModelRegistry;
  events: RegistryEvent[];
  logged: string[];
}

async function setup(
  spec: RepoSpec,
  options: Partial<ModelRegistryOptions> = {},
  prepare: (loader: FakeLoader) => void = () => {},
): Promise<Setup> {
  const repo = await makeRepo(spec);
  const loader = new FakeLoader();
  prepare(loader);
  const logged: string[] = [];
  const log = (level: string) => (obj: object, msg: string) =>
    logged.push(`${level}: ${msg} ${JSON.stringify(obj)}`);
  const registry = createModelRegistry({
    repository: repo,
    controlMode: "none",
    loadVersion: loader.load,
    logger: { info: log("info"), warn: log("warn"), error: log("error") },
    ...options,
  });
  const events: RegistryEvent[] = [];
  registry.subscribe((e) => events.push(e));
  cleanups.push(
    () => removeRepo(repo),
    () => registry.close(),
  );
  await registry.start();
  return { repo, loader, registry, events, logged };
}

/** The thrown InferdError's kind and message. */
function thrown(fn: () => unknown): [string, string] {
  try {
    fn();
  } catch (error) {
    if (isInferdError(error)) return [error.kind, error.message];
    throw error;
  }
  throw new Error("expected a throw");
}

async function rejected(promise: Promise<unknown>): Promise<[string, string]> {
  try {
    await promise;
  } catch (error) {
    if (isInferdError(error)) return [error.kind, error.message];
    throw error;
  }
  throw new Error("expected a rejection");
}

const states = (registry: ModelRegistry, name: string) =>
  registry.get(name).versions.map((v) => `${v.version}:${v.state}`);
/** Acquires and releases at once; returns the version routed to. */
function version(registry: ModelRegistry, name: string, pinned?: number): number {
  const lease = registry.acquire(name, pinned);
  lease.release();
  return lease.version;
}
const eventsOf = (events: RegistryEvent[], model: string) =>
  events.filter((e) => e.model === model).map(eventKey);

describe("createModelRegistry: version policies and lookup", () => {
  it("loads per policy at start and routes unpinned traffic to the newest", async () => {
    const { registry, loader, events } = await setup({
      latest: { versions: [1, 2, 3] },
      all: { versions: [1, 2], config: { version_policy: "all" } },
      specific: { versions: [1, 2, 3], config: { version_policy: { specific: [1, 3] } } },
      two: { versions: [1, 2, 3], config: { version_policy: { latest: 2 } } },
    });
    const loaded = loader.requests.map((r) => `${r.model}/${r.version}`).sort();
    expect(loaded).toEqual([
      "all/1",
      "all/2",
      "latest/3",
      "specific/1",
      "specific/3",
      "two/2",
      "two/3",
    ]);
    expect(states(registry, "latest")).toEqual(["1:unloaded", "2:unloaded", "3:ready"]);
    expect(states(registry, "specific")).toEqual(["1:ready", "2:unloaded", "3:ready"]);
    expect(eventsOf(events, "latest")).toEqual(["latest/3:loading", "latest/3:ready"]);
    expect(registry.isReady()).toBe(true);
    expect(registry.isModelReady("latest")).toBe(true);

    const lease = registry.acquire("specific");
    expect([lease.version, (lease.servable as { version?: number }).version]).toEqual([3, 3]);
    expect(registry.get("specific").versions.find((v) => v.version === 3)?.inFlight).toBe(1);
    lease.release();
    lease.release(); // a second release is ignored
    expect(registry.get("specific").versions.find((v) => v.version === 3)?.inFlight).toBe(0);
    expect(version(registry, "all", 1)).toBe(1);

    const request = loader.requests.find((r) => r.model === "latest");
    expect(request?.modelPath).toBe(join(request?.dir ?? "", "model.onnx"));
    expect(request?.dir.endsWith(join("latest", "3"))).toBe(true);
    expect(request?.kind).toBe("predict");
  });

  it("names what exists when a lookup fails", async () => {
    const { registry } = await setup({ a: { versions: [1, 2] }, b: { versions: [1] } });
    expect(thrown(() => registry.acquire("zz"))).toEqual([
      "not_found",
      'model "zz" not found; models: a, b',
    ]);
    expect(thrown(() => registry.get("zz"))[0]).toBe("not_found");
    expect(thrown(() => registry.acquire("a", 9))).toEqual([
      "not_found",
      'model "a" has no version 9; versions: 1, 2',
    ]);
    expect(thrown(() => registry.acquire("a", 1))).toEqual([
      "not_found",
      'model "a" version 1 is not served: version_policy latest 1 serves version 2',
    ]);
  });

  it("answers a pinned version the control does not serve NotFound, one still to load Unavailable", async () => {
    const { registry, loader } = await setup(
      {
        s: { versions: [1, 2, 3], config: { version_policy: { specific: [1, 3] } } },
        e: { versions: [1, 2] },
      },
      { controlMode: "explicit", startupModels: ["s"] },
      (l) => l.failures.set("s/3", "bad onnx"),
    );
    expect(thrown(() => registry.acquire("s", 2))).toEqual([
      "not_found",
      'model "s" version 2 is not served: version_policy specific [1, 3] serves versions 1, 3',
    ]);
    expect(thrown(() => registry.acquire("s", 3))[0]).toBe("unavailable");
    // An operator's command may change what an unloaded model or a LoadModel's list
    // serves: that stays retryable.
    const notLoaded = ["unavailable", 'model "e" version 1 not loaded'];
    expect(thrown(() => registry.acquire("e", 1))).toEqual(notLoaded);
    await registry.load("e", [2]);
    expect(thrown(() => registry.acquire("e", 1))).toEqual(notLoaded);
    await registry.load("e");
    expect(thrown(() => registry.acquire("e", 1))).toEqual([
      "not_found",
      'model "e" version 1 is not served: version_policy latest 1 serves version 2',
    ]);
    expect(loader.requests.map((r) => `${r.model}/${r.version}`).sort()).toEqual([
      "e/2",
      "s/1",
      "s/3",
    ]);
  });

  it("warns, in the log and in get(), of routing weights on versions the policy does not serve", async () => {
    const { registry, logged } = await setup({
      w: {
        versions: [1, 2],
        config: { routing: { policy: "weighted", weights: { "1": 90, "2": 10, "7": 5 } } },
      },
      ok: {
        versions: [1, 2],
        config: { version_policy: "all", routing: { policy: "weighted", weights: { "1": 1 } } },
      },
    });
    const warning =
      "routing weights name versions 1, 7, which version_policy latest 1 does not serve (it serves version 2): their share goes to the served versions";
    expect(registry.get("w").warnings).toEqual([warning]);
    expect(registry.get("ok").warnings ?? []).toEqual([]);
    expect(logged.filter((l) => l.startsWith("warn:") && l.includes(warning))).toHaveLength(1);
  });

  it("exposes the effective config with the detected kind", async () => {
    const { registry } = await setup({ a: { versions: [1], config: { labels: ["x"] } } });
    const status = registry.get("a");
    expect(status.kind).toBe("predict");
    expect(status.config).toMatchObject({ kind: "predict", labels: ["x"], max_queue_size: 1024 });
    expect(status.versions[0]?.inputs.map((i) => i.name)).toEqual(["x"]);
    const lease = registry.acquire("a");
    expect(lease.config.labels).toEqual(["x"]);
    lease.release();
  });
});

describe("createModelRegistry: failures", () => {
  it("fails only the broken version or model; the rest serve and the server is not ready", async () => {
    const { registry, events, logged, repo } = await setup(
      {
        a: { versions: [1, 2], config: { version_policy: "all" } },
        typo: { versions: [1], config: { lables: [] } },
        ok: { versions: [1] },
      },
      {},
      (loader) => loader.failures.set("a/2", "corrupt protobuf"),
    );
    await rm(join(repo, "ok", "1", "model.onnx")).catch(() => undefined);
    expect(states(registry, "a")).toEqual(["1:ready", "2:failed"]);
    expect(registry.get("a").versions[1]?.reason).toBe("corrupt protobuf");
    expect(version(registry, "a")).toBe(1);
    expect(thrown(() => registry.acquire("a", 2))).toEqual([
      "unavailable",
      'model "a" version 2 is failed: corrupt protobuf',
    ]);
    expect(registry.get("typo").reason).toBe('typo/model.json: unknown key "lables"');
    expect(thrown(() => registry.acquire("typo"))).toEqual([
      "unavailable",
      'model "typo" has no ready version (typo/model.json: unknown key "lables")',
    ]);
    expect(version(registry, "ok")).toBe(1);
    expect(registry.isReady()).toBe(false);
    expect(eventsOf(events, "a").sort()).toEqual([
      "a/1:loading",
      "a/1:ready",
      "a/2:failed",
      "a/2:loading",
    ]);
    expect(events.find((e) => e.state === "failed")?.reason).toBe("corrupt protobuf");
    expect(logged.filter((l) => l.startsWith("error")).length).toBe(2);
  });

  it("fails a version whose model.onnx is missing without calling loadVersion", async () => {
    const { registry, loader, repo } = await setup(
      { a: { versions: [1] } },
      { controlMode: "explicit" },
    );
    await rm(join(repo, "a", "1", "model.onnx"));
    const [kind, message] = await rejected(registry.load("a"));
    expect(kind).toBe("failed_precondition");
    expect(message).toBe('model "a" version 1 failed to load: a/1/model.onnx does not exist');
    expect(loader.requests).toEqual([]);
    // A load after start never takes the server out of its load balancer; its caller got the error.
    expect(registry.isReady()).toBe(true);
    expect(registry.notReady()).toEqual([]);
    await addVersion(repo, "a", 1);
    expect((await registry.load("a")).versions[0]?.state).toBe("ready");
    expect(registry.isReady()).toBe(true);
  });

  it("reports a failed version that is unloaded as unloaded (event and state)", async () => {
    const { registry, events } = await setup(
      { a: { versions: [1] } },
      { controlMode: "explicit" },
      (loader) => loader.failures.set("a/1", "bad graph"),
    );
    await rejected(registry.load("a"));
    expect(states(registry, "a")).toEqual(["1:failed"]);
    await registry.unload("a");
    expect(states(registry, "a")).toEqual(["1:unloaded"]);
    expect(eventsOf(events, "a")).toEqual(["a/1:loading", "a/1:failed", "a/1:unloaded"]);
  });
});

describe("createModelRegistry: explicit load and unload", () => {
  it("loads only startup models, then loads and unloads on request", async () => {
    const { registry, loader, events } = await setup(
      { a: { versions: [1] }, b: { versions: [1, 2] } },
      { controlMode: "explicit", startupModels: ["a"] },
    );
    expect(loader.requests.map((r) => r.model)).toEqual(["a"]);
    expect(states(registry, "b")).toEqual(["1:unloaded", "2:unloaded"]);
    expect(registry.isReady()).toBe(true);

    const status = await registry.load("b", [1, 2]);
    expect(status.versions.map((v) => v.state)).toEqual(["ready", "ready"]);
    const held = registry.acquire("b", 2);
    let unloaded = false;
    const unloading = registry.unload("b", 2).then((s) => {
      unloaded = true;
      return s;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(unloaded).toBe(false); // waits for the lease
    expect(states(registry, "b")).toEqual(["1:ready", "2:draining"]);
    held.release();
    expect((await unloading).versions.map((v) => v.state)).toEqual(["ready", "unloaded"]);
    expect(loader.servables.find((s) => s.model === "b" && s.version === 2)?.disposed).toBe(true);

    await registry.unload("b");
    expect(registry.isModelReady("b")).toBe(false);
    // The two loads run side by side: which is ready first is the file system's to say.
    expect(eventsOf(events, "b").slice(0, 2)).toEqual(["b/1:loading", "b/2:loading"]);
    expect(eventsOf(events, "b").slice(2, 4).sort()).toEqual(["b/1:ready", "b/2:ready"]);
    expect(eventsOf(events, "b").slice(4)).toEqual([
      "b/2:draining",
      "b/2:unloaded",
      "b/1:draining",
      "b/1:unloaded",
    ]);
    expect(await rejected(registry.load("b", [7]))).toEqual([
      "not_found",
      'model "b" has no version folder 7 in the repository; versions: 1, 2',
    ]);
    const [kind, message] = await rejected(registry.load("nope"));
    expect(kind).toBe("not_found");
    expect(message).toBe('model "nope" is not in the model repository; it has: a, b');
  });

  it("stays ready when a version that start loaded is unloaded, then fails to load again", async () => {
    const { registry, loader } = await setup(
      { m: { versions: [1] } },
      { controlMode: "explicit", startupModels: ["m"] },
    );
    expect(states(registry, "m")).toEqual(["1:ready"]);
    await registry.unload("m", 1);
    loader.failures.set("m/1", "truncated file");
    await registry.load("m", [1]).catch(() => {});
    expect(states(registry, "m")).toEqual(["1:failed"]);
    expect(registry.isReady()).toBe(true);
    expect(registry.notReady()).toEqual([]);
  });

  it("answers a LoadModel that replaces a version once the new one is ready, not after the old drains", async () => {
    const { registry } = await setup(
      { m: { versions: [1, 2] } },
      { controlMode: "explicit", startupModels: ["m"] },
    );
    await registry.load("m", [1]);
    const lease = registry.acquire("m", 1);
    const status = await registry.load("m", [2]);
    expect(status.versions.map((v) => `${v.version}:${v.state}`)).toEqual([
      "1:draining",
      "2:ready",
    ]);
    // An UnloadModel of the draining version still answers once it is gone, not before.
    let unloaded = false;
    const unloading = registry.unload("m", 1).then(() => (unloaded = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(unloaded).toBe(false);
    lease.release();
    await unloading;
    expect(states(registry, "m")).toEqual(["1:unloaded", "2:ready"]);
  });

  it("applies a model's load and unload commands in the order they came, each answer its own outcome", async () => {
    const { registry, loader } = await setup({ b: { versions: [1] } }, { controlMode: "explicit" });
    const open = loader.gate("b/1");
    const loading = registry.load("b");
    const loadingToo = registry.load("b");
    const unloading = registry.unload("b");
    await new Promise((r) => setTimeout(r, 20));
    open();
    const [loaded, loadedToo, unloaded] = await Promise.all([loading, loadingToo, unloading]);
    expect(loaded.versions.map((v) => v.state)).toEqual(["ready"]);
    expect(loadedToo.versions.map((v) => v.state)).toEqual(["ready"]);
    expect(unloaded.versions.map((v) => v.state)).toEqual(["unloaded"]);
    expect(states(registry, "b")).toEqual(["1:unloaded"]);
    expect(loader.requests).toHaveLength(1);
    // And the other way round: the load sent last wins.
    const [, last] = await Promise.all([registry.unload("b"), registry.load("b")]);
    expect(last.versions.map((v) => v.state)).toEqual(["ready"]);
    expect(states(registry, "b")).toEqual(["1:ready"]);
  });

  it("finishes a load whose caller stopped waiting: ready, not failed, and the server ready", async () => {
    const { registry, loader } = await setup({ b: { versions: [1] } }, { controlMode: "explicit" });
    const open = loader.gate("b/1");
    const impatient = new AbortController();
    const loading = registry.load("b", undefined, impatient.signal);
    await waitFor(() => loader.requests.length === 1);
    impatient.abort();
    expect((await rejected(loading))[0]).toBe("canceled");
    open();
    await waitFor(() => states(registry, "b")[0] === "1:ready");
    expect(registry.isReady()).toBe(true);
    expect(loader.requests[0]?.signal.aborted).toBe(false);
  });

  it("drops a queued command whose caller gave up: it never runs and blocks nobody", async () => {
    const { registry, loader } = await setup({ b: { versions: [1] } }, { controlMode: "explicit" });
    const open = loader.gate("b/1");
    const loading = registry.load("b");
    const unloading = registry.unload("b");
    const gaveUp = new AbortController();
    const abandoned = registry.load("b", undefined, gaveUp.signal);
    gaveUp.abort();
    // It leaves the line at once, while the first load is still running.
    expect((await rejected(abandoned))[0]).toBe("canceled");
    open();
    await Promise.all([loading, unloading]);
    expect(states(registry, "b")).toEqual(["1:unloaded"]);
    expect(loader.requests).toHaveLength(1);
    expect((await registry.load("b")).versions.map((v) => v.state)).toEqual(["ready"]);
  });

  it("loads only folders directly inside the repository: a name that walks out is InvalidArgument", async () => {
    const outside = await makeRepo({ evil: { versions: [1] } });
    cleanups.push(() => removeRepo(outside));
    const { registry, repo, loader } = await setup(
      { a: { versions: [1] } },
      { controlMode: "explicit" },
    );
    const walkOut = join("a", "..", relative(repo, join(outside, "evil")));
    for (const name of [walkOut, join(outside, "evil"), "..", ".", "", "a/1", "a\\..", ".hidden"]) {
      const [kind, message] = await rejected(registry.load(name));
      expect(kind).toBe("invalid_argument");
      expect(message).toContain("is not a folder name");
    }
    expect(loader.requests).toEqual([]);
    expect(registry.list().map((m) => m.name)).toEqual(["a"]);
    expect(thrown(() => registry.acquire(walkOut))[0]).toBe("not_found");
  });

  it("checks the name on unload as on load: a name that walks out is InvalidArgument", async () => {
    const { registry } = await setup({ a: { versions: [1] } }, { controlMode: "explicit" });
    for (const name of ["../x", "/etc", "", "a/1", ".hidden"]) {
      const [kind, message] = await rejected(registry.unload(name));
      expect(kind).toBe("invalid_argument");
      expect(message).toContain("is not a folder name");
    }
  });

  it("fails a load that has no version to load, naming what is missing", async () => {
    const { registry, loader } = await setup(
      {
        empty: { versions: [] },
        none: { versions: [1, 2], config: { version_policy: { specific: [5] } } },
      },
      { controlMode: "explicit" },
    );
    expect(await rejected(registry.load("empty"))).toEqual([
      "not_found",
      'model "empty" has no version folder: put the model in <repository>/empty/<version>/model.onnx, version a positive integer',
    ]);
    expect(await rejected(registry.load("none"))).toEqual([
      "failed_precondition",
      'model "none" has no version to load: version_policy specific [5] selects none of versions 1, 2',
    ]);
    expect(loader.requests).toEqual([]);
  });

  it("rejects unknown startup models", async () => {
    const repo = await makeRepo({ a: { versions: [1] } });
    cleanups.push(() => removeRepo(repo));
    const registry = createModelRegistry({
      repository: repo,
      controlMode: "explicit",
      startupModels: ["x"],
      loadVersion: new FakeLoader().load,
    });
    expect(await rejected(registry.start())).toEqual([
      "not_found",
      'model "x" not found; models: a',
    ]);
  });
});

describe("createModelRegistry: poll mode", () => {
  it("picks up a new version once ready and drains the replaced one", async () => {
    let release = () => {};
    const { registry, loader, events, repo } = await setup(
      { m: { versions: [1] } },
      { controlMode: "poll", pollIntervalMs: 10 },
      (l) => {
        release = l.gate("m/2");
      },
    );
    await addVersion(repo, "m", 2);
    await waitFor(() => loader.requests.some((r) => r.version === 2));
    await new Promise((r) => setTimeout(r, 30)); // several polls while v2 loads
    expect(states(registry, "m")).toEqual(["1:ready", "2:loading"]);
    expect(version(registry, "m")).toBe(1); // still served by v1
    expect(registry.isReady()).toBe(true); // a rollout does not take the server out
    release();
    await waitFor(() => states(registry, "m").join() === "1:unloaded,2:ready");
    expect(version(registry, "m")).toBe(2);
    expect(eventsOf(events, "m")).toEqual([
      "m/1:loading",
      "m/1:ready",
      "m/2:loading",
      "m/2:ready",
      "m/1:draining",
      "m/1:unloaded",
    ]);
    expect(loader.requests.filter((r) => r.version === 2)).toHaveLength(1);
  });

  it("stays ready while a model or version added after start loads, and after it failed", async () => {
    let release = () => {};
    const { registry, loader, repo } = await setup(
      { m: { versions: [1] } },
      { controlMode: "poll", pollIntervalMs: 10 },
      (l) => {
        release = l.gate("n/1");
        l.failures.set("n/1", "bad graph");
        l.failures.set("m/2", "truncated file");
      },
    );
    await addVersion(repo, "n", 1);
    await addVersion(repo, "m", 2);
    await waitFor(() => loader.requests.some((r) => r.model === "n"));
    expect(states(registry, "n")).toEqual(["1:loading"]);
    expect(thrown(() => registry.acquire("n"))[0]).toBe("unavailable");
    expect(registry.isReady()).toBe(true);
    release();
    await waitFor(() => states(registry, "n").join() === "1:failed");
    await waitFor(() => states(registry, "m").join() === "1:ready,2:failed");
    expect(version(registry, "m")).toBe(1); // the failed rollout left v1 serving
    expect(registry.isReady()).toBe(true);
    expect(registry.notReady()).toEqual([]);
  });

  it("stays not ready after a version failed at start until a poll loads it fixed", async () => {
    const { registry, loader, repo } = await setup(
      { m: { versions: [1] }, ok: { versions: [1] } },
      { controlMode: "poll", pollIntervalMs: 10 },
      (l) => l.failures.set("m/1", "bad graph"),
    );
    expect(registry.isReady()).toBe(false);
    expect(registry.notReady()).toEqual([
      { model: "m", version: 1, state: "failed", reason: "bad graph" },
    ]);
    loader.failures.delete("m/1");
    const file = join(repo, "m", "1", "model.onnx");
    const later = new Date(Date.now() + 5000);
    await utimes(file, later, later);
    await waitFor(() => states(registry, "m").join() === "1:ready");
    expect(registry.isReady()).toBe(true);
  });

  it("polls the other models, and rolls on, while one drains a replaced version held by a lease", async () => {
    const { registry, repo } = await setup(
      { m: { versions: [1] } },
      { controlMode: "poll", pollIntervalMs: 10 },
    );
    const lease = registry.acquire("m"); // a long stream on m/1
    await addVersion(repo, "m", 2);
    await waitFor(() => states(registry, "m").join() === "1:draining,2:ready");
    await addVersion(repo, "n", 1);
    await waitFor(() => registry.list().some((s) => s.name === "n"));
    await waitFor(() => states(registry, "n").join() === "1:ready");
    expect(states(registry, "m")).toEqual(["1:draining", "2:ready"]);
    // The drain does not hold m's own next rollout either.
    await addVersion(repo, "m", 3);
    await waitFor(() => states(registry, "m").join() === "1:draining,2:unloaded,3:ready");
    expect(version(registry, "m")).toBe(3);
    lease.release();
    await waitFor(() => states(registry, "m").join() === "1:unloaded,2:unloaded,3:ready");
  });

  it("drains and unloads a removed version folder and a removed model", async () => {
    const { registry, events, repo } = await setup(
      { m: { versions: [1, 2], config: { version_policy: "all" } }, gone: { versions: [1] } },
      { controlMode: "poll", pollIntervalMs: 10 },
    );
    await removeAtOnce(join(repo, "m", "2"));
    await removeAtOnce(join(repo, "gone"));
    await waitFor(() => events.filter((e) => e.state === "unloaded").length === 2);
    expect(states(registry, "m")).toEqual(["1:ready"]);
    expect(thrown(() => registry.acquire("m", 2))).toEqual([
      "not_found",
      'model "m" has no version 2; versions: 1',
    ]);
    expect(thrown(() => registry.acquire("gone"))[0]).toBe("not_found");
    expect(eventsOf(events, "m").slice(4)).toEqual(["m/2:draining", "m/2:unloaded"]);
  });

  it("reports a failed model whose folder is removed as unloaded", async () => {
    const { events, repo, registry } = await setup(
      { broken: { versions: [1] } },
      { controlMode: "poll", pollIntervalMs: 10 },
      (loader) => loader.failures.set("broken/1", "bad graph"),
    );
    expect(states(registry, "broken")).toEqual(["1:failed"]);
    await removeAtOnce(join(repo, "broken"));
    await waitFor(() => events.some((e) => e.state === "unloaded"));
    expect(eventsOf(events, "broken")).toEqual([
      "broken/1:loading",
      "broken/1:failed",
      "broken/1:unloaded",
    ]);
    expect(registry.isReady()).toBe(true);
  });

  it("reloads a version whose model.onnx is replaced in place; a bad file keeps the old one serving", async () => {
    const { registry, loader, repo, events } = await setup(
      { m: { versions: [1] } },
      { controlMode: "poll", pollIntervalMs: 10 },
    );
    const file = join(repo, "m", "1", "model.onnx");
    const touch = async (seconds: number) => {
      const at = new Date(Date.now() + seconds * 1000);
      await utimes(file, at, at);
    };
    await touch(10);
    await waitFor(() => loader.requests.length === 2 && loader.servables[0]?.disposed === true);
    expect(states(registry, "m")).toEqual(["1:ready"]);
    // A replacement that fails to load: tried once, the previous instance keeps serving.
    loader.failures.set("m/1", "not an ONNX graph");
    await touch(20);
    await waitFor(() => loader.requests.length === 3);
    await new Promise((r) => setTimeout(r, 100)); // several more polls
    expect(loader.requests).toHaveLength(3);
    expect(version(registry, "m")).toBe(1);
    expect(loader.servables[1]?.disposed).toBe(false);
    // The version still serves: its last event says ready, with why the reload failed.
    const last = events.filter((e) => e.model === "m").at(-1);
    expect(last).toMatchObject({ state: "ready", reason: "reload failed: not an ONNX graph" });
    expect(registry.get("m").versions[0]).toMatchObject({ state: "ready" });
    // Fixed again: reloaded.
    loader.failures.delete("m/1");
    await touch(30);
    await waitFor(() => loader.requests.length === 4 && loader.servables[1]?.disposed === true);
    expect(version(registry, "m")).toBe(1);
  });

  it("reloads a version when model.json changes, swapping without a gap", async () => {
    const { registry, loader, events, repo, logged } = await setup(
      { m: { versions: [1] } },
      { controlMode: "poll", pollIntervalMs: 10 },
    );
    const old = registry.acquire("m");
    await writeConfig(repo, "m", { instance_count: 2 });
    await waitFor(() => loader.requests.length === 2 && states(registry, "m")[0] === "1:ready");
    await waitFor(() => {
      const lease = registry.acquire("m");
      lease.release();
      return lease.config.instanceCount === 2;
    });
    expect(loader.requests[1]?.config.instanceCount).toBe(2);
    expect(old.config.instanceCount).toBe(1);
    expect(loader.servables[0]?.disposed).toBe(false);
    old.release();
    await waitFor(() => loader.servables[0]?.disposed === true);
    // The replaced instance's drain is logged, not announced: version 1 never stopped
    // serving, so its last event (what WatchModels and inferd_model_state show) is ready.
    expect(eventsOf(events, "m")).toEqual(["m/1:loading", "m/1:ready", "m/1:loading", "m/1:ready"]);
    expect(logged.filter((l) => l.includes("model version unloaded"))).toHaveLength(1);
    expect(registry.get("m").config.instance_count).toBe(2);
  });
});

describe("createModelRegistry: hot swap and routing", () => {
  it("swaps under continuous traffic with zero failures; disposes after the last lease", async () => {
    const { registry, loader, repo } = await setup(
      { m: { versions: [1] } },
      { controlMode: "poll", pollIntervalMs: 5 },
    );
    const held = new Map<number, number>();
    const heldAtDispose = new Map<number, number>();
    loader.onDispose = (s) => heldAtDispose.set(s.version, held.get(s.version) ?? 0);
    let failures = 0;
    let served = 0;
    let running = true;
    const worker = async () => {
      while (running) {
        try {
          const lease = registry.acquire("m");
          held.set(lease.version, (held.get(lease.version) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, Math.random() * 3));
          held.set(lease.version, (held.get(lease.version) ?? 1) - 1);
          served++;
          lease.release();
        } catch {
          failures++;
          await new Promise((r) => setTimeout(r, 1));
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    const pinnedToOld = registry.acquire("m", 1);
    await addVersion(repo, "m", 2);
    await waitFor(() => states(registry, "m").join() === "1:draining,2:ready");
    const before = served;
    await waitFor(() => served > before + 20);
    expect(loader.servables[0]?.disposed).toBe(false); // the pinned lease keeps v1 alive
    pinnedToOld.release();
    await waitFor(() => loader.servables[0]?.disposed === true);
    running = false;
    await Promise.all(workers);
    expect(failures).toBe(0);
    expect(served).toBeGreaterThan(20);
    expect(heldAtDispose.get(1)).toBe(0);
    expect(states(registry, "m")).toEqual(["1:unloaded", "2:ready"]);
  });

  it("splits unpinned traffic by weight and redistributes when a version leaves", async () => {
    let tick = 0;
    const { registry } = await setup(
      {
        ab: {
          versions: [1, 2, 3],
          config: {
            version_policy: "all",
            routing: { policy: "weighted", weights: { "1": 50, "2": 30, "3": 20 } },
          },
        },
      },
      { random: () => (tick++ % 100) / 100 },
    );
    const count = () => {
      const counts: Record<number, number> = {};
      for (let i = 0; i < 100; i++) {
        const v = version(registry, "ab");
        counts[v] = (counts[v] ?? 0) + 1;
      }
      return counts;
    };
    expect(count()).toEqual({ 1: 50, 2: 30, 3: 20 });
    await registry.unload("ab", 1);
    expect(count()).toEqual({ 2: 60, 3: 40 });
  });

  it("close drains every version, waiting for leases, then refuses new ones", async () => {
    const { registry, loader } = await setup({ a: { versions: [1] }, b: { versions: [1] } });
    const lease = registry.acquire("a");
    let closed = false;
    const closing = registry.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false);
    expect(loader.servables.map((s) => s.disposed).sort()).toEqual([false, true]);
    expect(thrown(() => registry.acquire("b"))).toEqual([
      "unavailable",
      "the server is shutting down",
    ]);
    expect(registry.isReady()).toBe(false);
    lease.release();
    await closing;
    expect(loader.servables.every((s) => s.disposed)).toBe(true);
  });

  it("follows symlinked versions, refuses a symlink out of the repository, logs each skip once", async () => {
    const { registry, loader, repo, logged } = await setup(
      { store: { versions: [1] } },
      { controlMode: "explicit" },
    );
    await addVersion(join(repo, "store"), ".v", 2);
    await symlink(join(".v", "2"), join(repo, "store", "2"));
    const outside = await makeRepo({ ext: { versions: [1] } });
    cleanups.push(() => removeRepo(outside));
    await symlink(join(outside, "ext"), join(repo, "ext"));

    await registry.load("store");
    expect(loader.requests.map((r) => `${r.model}/${r.version}`)).toEqual(["store/2"]);
    const [kind, message] = await rejected(registry.load("ext"));
    expect(kind).toBe("failed_precondition");
    expect(message).toBe(
      `"ext" is skipped: symlink to ${await realpath(join(outside, "ext"))}, outside the repository (--allow-symlinks-outside-repository follows it)`,
    );
    // Each scan of the repository (here: naming what it has) reports it; the log says it once.
    await rejected(registry.load("nope"));
    await rejected(registry.load("nope"));
    const skips = logged.filter((line) => line.includes("model repository entry skipped"));
    expect(skips).toEqual([
      'info: model repository entry skipped {"entry":"store/.v","reason":"hidden (its name starts with a dot)"}',
      expect.stringMatching(
        /^warn: model repository entry skipped \{"entry":"ext","reason":"symlink to /,
      ),
    ]);
  });
});

describe("createModelRegistry: a single model's folder (KServe's /mnt/models)", () => {
  /** A registry over a folder holding dummy model.onnx files at `files`, started. */
  async function single(files: readonly string[], options: Partial<ModelRegistryOptions> = {}) {
    const repo = await makeRepo({});
    for (const file of files) {
      await mkdir(dirname(join(repo, file)), { recursive: true });
      await writeFile(join(repo, file), "dummy");
    }
    const loader = new FakeLoader();
    const logged: string[] = [];
    const log = (level: string) => (obj: object, msg: string) =>
      logged.push(`${level}: ${msg} ${JSON.stringify(obj)}`);
    const registry = createModelRegistry({
      repository: repo,
      controlMode: "none",
      loadVersion: loader.load,
      logger: { info: log("info"), warn: log("warn"), error: log("error") },
      ...options,
    });
    cleanups.push(
      () => removeRepo(repo),
      () => registry.close(),
    );
    await registry.start();
    return { repo, loader, registry, logged };
  }

  it("loads /mnt/models/model.onnx as version 1 of --model-name, from the folder itself", async () => {
    const { repo, loader, registry, logged } = await single(["model.onnx"], {
      modelName: "flowers",
    });
    expect(loader.requests.map((r) => [r.model, r.version, r.dir, r.modelPath])).toEqual([
      ["flowers", 1, repo, join(repo, "model.onnx")],
    ]);
    expect(registry.isReady()).toBe(true);
    expect(registry.list().map((m) => m.name)).toEqual(["flowers"]);
    expect(version(registry, "flowers")).toBe(1);
    expect(thrown(() => registry.acquire("model"))).toEqual([
      "not_found",
      'model "model" not found; models: flowers',
    ]);
    expect(logged.filter((l) => l.includes("one model"))).toEqual([
      `info: serving the model repository as one model (--model-name) {"model":"flowers","layout":"single-file","versions":[1]}`,
    ]);
  });

  it("loads /mnt/models/<n>/model.onnx versions; LoadModel knows only the one name", async () => {
    const { repo, loader, registry } = await single(["1/model.onnx", "2/model.onnx"], {
      modelName: "flowers",
      controlMode: "explicit",
    });
    expect(registry.list().map((m) => m.name)).toEqual(["flowers"]);
    expect((await registry.load("flowers", [1, 2])).versions.map((v) => v.state)).toEqual([
      "ready",
      "ready",
    ]);
    expect(loader.requests.map((r) => r.dir)).toEqual([join(repo, "1"), join(repo, "2")]);
    expect(await rejected(registry.load("iris"))).toEqual([
      "not_found",
      'model "iris" is not in the model repository; it has: flowers',
    ]);
  });

  it("names a missing bare model.onnx as the client sees it, without the repository path", async () => {
    const { repo, registry } = await single(["model.onnx"], {
      modelName: "flowers",
      controlMode: "explicit",
    });
    await rm(join(repo, "model.onnx"));
    await mkdir(join(repo, "1"));
    expect(await rejected(registry.load("flowers"))).toEqual([
      "failed_precondition",
      'model "flowers" version 1 failed to load: 1/model.onnx does not exist',
    ]);
  });

  it("without --model-name, serves a top-level model.onnx under the folder's name and says so", async () => {
    const { repo, registry, logged } = await single(["model.onnx"]);
    const name = basename(repo);
    expect(registry.list().map((m) => m.name)).toEqual([name]);
    expect(version(registry, name)).toBe(1);
    expect(logged.some((l) => l.startsWith(`info: model.onnx at the top`))).toBe(true);
  });

  it("warns when --model-name finds neither model.onnx nor version folders", async () => {
    const { logged } = await single([], { modelName: "flowers" });
    expect(logged.filter((l) => l.startsWith("warn:"))).toEqual([
      `warn: the model repository holds neither model.onnx nor version folders (1/model.onnx, ...): model "flowers" has nothing to serve {"model":"flowers","layout":"single","versions":[]}`,
    ]);
  });
});

/**
 * Removes a folder as one step a poll can observe: a recursive rm deletes file by file, and
 * a poll between two deletions sees a changed model (and rightly retries it).
 */
async function removeAtOnce(folder: string): Promise<void> {
  const aside = await mkdtemp(join(tmpdir(), "inferd-removed-"));
  await rename(folder, join(aside, basename(folder)));
  await rm(aside, { recursive: true });
}
