import { InferdError, notFound } from "../../src/errors/inferd-error.js";
import type {
  ModelRegistry,
  ModelStatus,
  NotReadyVersion,
  RegistryEvent,
} from "../../src/registry/model-registry.js";

/**
 * A registry without models on disk: each model is one version, ready or
 * loading, switched by `setReady` (which emits an event like the real one).
 */
export class FakeRegistry implements ModelRegistry {
  private readonly ready = new Map<string, boolean>();
  private readonly listeners = new Set<(event: RegistryEvent) => void>();
  started = false;
  closed = false;

  constructor(models: Record<string, boolean> = {}) {
    for (const [name, ready] of Object.entries(models)) this.ready.set(name, ready);
  }

  setReady(name: string, ready: boolean): void {
    this.ready.set(name, ready);
    const event = {
      model: name,
      version: 1,
      state: ready ? "ready" : "loading",
      time: new Date(),
    } as const;
    for (const listener of this.listeners) listener(event);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  async start(): Promise<void> {
    this.started = true;
  }
  list(): ModelStatus[] {
    return [...this.ready.keys()].map((name) => this.get(name));
  }
  get(name: string): ModelStatus {
    const ready = this.ready.get(name);
    if (ready === undefined) throw notFound(`model "${name}" not found`);
    const state = ready ? "ready" : "loading";
    const version = { version: 1, state, inputs: [], outputs: [], inFlight: 0 } as const;
    return { name, kind: "predict", versions: [version], config: {} };
  }
  acquire(): never {
    throw new InferdError("internal", "the fake registry leases nothing");
  }
  async load(name: string): Promise<ModelStatus> {
    this.setReady(name, true);
    return this.get(name);
  }
  async unload(name: string): Promise<ModelStatus> {
    this.setReady(name, false);
    return this.get(name);
  }
  subscribe(listener: (event: RegistryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  isReady(): boolean {
    return [...this.ready.values()].every(Boolean);
  }
  notReady(): NotReadyVersion[] {
    return [...this.ready]
      .filter(([, ready]) => !ready)
      .map(([model]) => ({ model, version: 1, state: "loading" }));
  }
  isModelReady(name: string): boolean {
    return this.ready.get(name) === true;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}
