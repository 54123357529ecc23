import { createInferenceStatistics } from "./inference-statistics.js";
import type { ModelConfig } from "./model-config.js";
import type { ModelKind } from "./model-kind.js";
import type { Servable, VersionState } from "./model-registry.js";

/** Receives every state change of an instance, synchronously, in order. */
export type StateListener = (
  instance: VersionInstance,
  state: VersionState,
  reason?: string,
) => void;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * One load attempt of one model version and its life: loading → ready | failed, and
 * ready → draining → unloaded. A config reload creates a second instance of the same
 * version; the old one drains once the new one is ready. Leases count requests in
 * flight; draining waits for them to reach zero before `dispose()`.
 */
export class VersionInstance {
  state: VersionState = "loading";
  reason: string | undefined;
  servable: Servable | undefined;
  leases = 0;
  /** When the load finished and the instance became ready (/v1/models' `created`). */
  readyAt: Date | undefined;
  /** model.onnx modification time when the load started (-1: missing); detects a fixed file. */
  stamp = -1;
  /** What this instance served (Triton's statistics): a reload starts from zero. */
  readonly statistics = createInferenceStatistics();
  private readonly abort = new AbortController();
  private loading: Promise<void> = Promise.resolve();
  private retiring: Promise<void> | undefined;
  private onIdle: (() => void) | undefined;

  constructor(
    readonly model: string,
    readonly version: number,
    readonly config: ModelConfig,
    readonly kind: ModelKind,
    private readonly listener: StateListener,
  ) {}

  /** Runs `load` once; the signal aborts when the instance is retired while loading. */
  load(load: (signal: AbortSignal) => Promise<Servable>): Promise<void> {
    this.loading = (async () => {
      try {
        const servable = await load(this.abort.signal);
        if (this.retiring) {
          await servable.dispose().catch(() => undefined);
          this.setState("unloaded", "unloaded while loading");
          return;
        }
        this.servable = servable;
        this.readyAt = new Date();
        this.setState("ready");
      } catch (error) {
        if (this.retiring) this.setState("unloaded", "unloaded while loading");
        else this.setState("failed", messageOf(error));
      }
    })();
    return this.loading;
  }

  /** True once `retire` was called: the instance is on its way out. */
  get isRetiring(): boolean {
    return this.retiring !== undefined;
  }

  acquire(): void {
    this.leases++;
  }

  release(): void {
    this.leases--;
    if (this.leases === 0) this.onIdle?.();
  }

  /**
   * Takes the instance out of service: cancels a load in progress, or drains a ready
   * instance (waits for its leases) and awaits `dispose()`. Idempotent; a failed
   * instance has nothing to release and resolves at once.
   */
  retire(): Promise<void> {
    this.retiring ??= this.runRetire();
    return this.retiring;
  }

  private async runRetire(): Promise<void> {
    if (this.state === "loading") {
      this.abort.abort(new Error("the version is being unloaded"));
      await this.loading;
      return;
    }
    if (this.state !== "ready" || this.servable === undefined) return;
    this.setState("draining");
    if (this.leases > 0) await new Promise<void>((resolve) => (this.onIdle = resolve));
    try {
      await this.servable.dispose();
      this.setState("unloaded");
    } catch (error) {
      this.setState("unloaded", `dispose failed: ${messageOf(error)}`);
    }
  }

  private setState(state: VersionState, reason?: string): void {
    this.state = state;
    this.reason = reason;
    this.listener(this, state, reason);
  }
}
