/**
 * What a key may do. `infer`: run models (Predict family, Generate, Tokenize, the
 * OpenAI `/v1` routes, Open Inference Protocol inference); `read`: see models and their
 * metadata; `admin`: change what is served (load, unload, repository control). Kept
 * apart so that a key handed to an application cannot unload the models it serves.
 */
export type Scope = "infer" | "read" | "admin";

/** Every scope, in the order the README lists them; `--api-key` keys hold all of them. */
export const SCOPES: readonly Scope[] = ["infer", "read", "admin"];

/** Guard: a known scope name. */
export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** What a method or route requires: a scope, or nothing (health, reflection, probes). */
export type Requirement = Scope | "open";
