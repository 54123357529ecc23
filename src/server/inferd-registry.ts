import type { ServerConfig } from "../config/server-options.js";
import type { Logger } from "../logging/logger.js";
import type { ModelRegistry } from "../registry/model-registry.js";
import { createModelRegistry } from "../registry/repository-registry.js";
import type { ModelRuntime } from "../runtime/model-runtime.js";
import { createOnnxRuntime } from "../runtime/onnx-runtime.js";
import { createLoadVersion, type LoadVersionOptions } from "./load-version.js";

/** Options of `createInferdRegistry`: the configuration, and how each kind of version is loaded. */
export interface InferdRegistryOptions
  extends Pick<LoadVersionOptions, "preparePredict" | "loadGenerative"> {
  config: ServerConfig;
  logger: Logger;
  /** Defaults to onnxruntime-node worker pools. */
  runtime?: ModelRuntime;
}

/**
 * The repository registry as the flags configure it (repository, single-model name,
 * control mode, poll interval, startup models), loading versions through the runtime. It is created
 * before the server so that the API and HTTP routes can be built over it directly;
 * nothing loads until the server's `listen` starts it.
 */
export function createInferdRegistry(options: InferdRegistryOptions): ModelRegistry {
  const { config, logger } = options;
  const loadVersion = createLoadVersion({
    runtime: options.runtime ?? createOnnxRuntime(),
    ...(options.preparePredict ? { preparePredict: options.preparePredict } : {}),
    ...(options.loadGenerative ? { loadGenerative: options.loadGenerative } : {}),
  });
  return createModelRegistry({
    repository: config.modelRepository,
    controlMode: config.modelControlMode,
    pollIntervalMs: config.pollInterval * 1000,
    loadVersion,
    modelName: config.modelName,
    startupModels: config.loadModel,
    allowSymlinksOutside: config.allowSymlinksOutsideRepository,
    logger,
  });
}
