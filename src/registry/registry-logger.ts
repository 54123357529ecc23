/**
 * Structured logger shape (pino's `info(obj, msg)`), so the registry needs no logging library.
 *
 * A leaf so that the registry's helpers (version-loader.ts, model-reconciler.ts) can
 * take one without importing repository-registry.ts, which imports them.
 */
export interface RegistryLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
