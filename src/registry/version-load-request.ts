import type { InferenceStatistics } from "./inference-statistics.js";
import type { ModelConfig } from "./model-config.js";
import type { ModelKind } from "./model-kind.js";

/**
 * What the registry asks the server to load: one version of one model.
 *
 * A leaf so that version-loader.ts (which issues it) and the server's `loadVersion`
 * (which serves it) need not import repository-registry.ts, which imports the loader.
 */
export interface VersionLoadRequest {
  readonly model: string;
  readonly version: number;
  /** The version folder `<repo>/<model>/<version>` (tokenizer files live here). */
  readonly dir: string;
  readonly modelPath: string;
  readonly config: ModelConfig;
  readonly kind: ModelKind;
  readonly signal: AbortSignal;
  /** The instance's statistics, for the batcher to feed (see `InferenceStatistics`). */
  readonly statistics: InferenceStatistics;
}
