import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ModelKind } from "../../src/registry/model-kind.js";
import type { RegistryEvent, Servable } from "../../src/registry/model-registry.js";
import type { VersionLoadRequest } from "../../src/registry/version-load-request.js";

/** model name → version folders and optional model.json (object, or raw text). */
export type RepoSpec = Record<string, { versions: number[]; config?: unknown }>;

/** Creates a temp repository with dummy model.onnx files (the fake loader never reads them). */
export async function makeRepo(spec: RepoSpec): Promise<string> {
  const repo = await mkdtemp(join(tmpdir(), "inferd-registry-"));
  for (const [name, model] of Object.entries(spec)) {
    await mkdir(join(repo, name), { recursive: true });
    for (const v of model.versions) await addVersion(repo, name, v);
    if (model.config !== undefined) await writeConfig(repo, name, model.config);
  }
  return repo;
}

export async function addVersion(repo: string, name: string, version: number): Promise<void> {
  await mkdir(join(repo, name, String(version)), { recursive: true });
  await writeFile(join(repo, name, String(version), "model.onnx"), "dummy");
}

export async function writeConfig(repo: string, name: string, config: unknown): Promise<void> {
  const text = typeof config === "string" ? config : JSON.stringify(config);
  await writeFile(join(repo, name, "model.json"), text);
}

export const removeRepo = (repo: string) => rm(repo, { recursive: true, force: true });

export interface FakeServable extends Servable {
  readonly model: string;
  readonly version: number;
  disposed: boolean;
}

interface Gate {
  promise: Promise<void>;
  open: () => void;
}

/**
 * A fake `loadVersion`: records requests, resolves at once unless a version is gated
 * (`gate("m/2")` then `open`), and fails versions listed in `failures`.
 */
export class FakeLoader {
  readonly requests: VersionLoadRequest[] = [];
  readonly servables: FakeServable[] = [];
  readonly failures = new Map<string, string>();
  readonly gates = new Map<string, Gate>();
  /** Called inside each dispose, before it resolves; lets tests observe lease counts. */
  onDispose: (servable: FakeServable) => void = () => {};

  gate(key: string): () => void {
    let open = () => {};
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.gates.set(key, { promise, open });
    return open;
  }

  readonly load = async (request: VersionLoadRequest): Promise<Servable> => {
    this.requests.push(request);
    const key = `${request.model}/${request.version}`;
    await this.gates.get(key)?.promise;
    const failure = this.failures.get(key);
    if (failure !== undefined) throw new Error(failure);
    const servable = this.servable(request.model, request.version, request.kind);
    this.servables.push(servable);
    return servable;
  };

  private servable(model: string, version: number, kind: ModelKind): FakeServable {
    const loader = this;
    return {
      model,
      version,
      kind,
      inputs: [{ name: "x", dtype: "float32", dims: [-1, 4], dimNames: ["batch", ""] }],
      outputs: [],
      disposed: false,
      async dispose() {
        loader.onDispose(this);
        this.disposed = true;
      },
    };
  }
}

/** Compact "model/version:state" strings for exact event-sequence assertions. */
export const eventKey = (e: RegistryEvent) => `${e.model}/${e.version}:${e.state}`;

/** Polls `check` until true (or fails after `timeoutMs`). */
export async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
