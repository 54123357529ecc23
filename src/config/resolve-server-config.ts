import { invalidArgument } from "../errors/inferd-error.js";
import { isModelName } from "../registry/repository-scanner.js";
import {
  type OptionValue,
  SERVER_OPTIONS,
  type ServerConfig,
  type ServerOptionSpec,
} from "./server-options.js";

/**
 * Parses one raw value of a setting. `source` names where it came from (e.g.
 * "--port" or "INFERD_PORT") so that the error says what to fix. Lists split on
 * commas, so that env can carry several values.
 *
 * @throws InferdError invalid_argument for a value of the wrong type or not among the choices.
 */
export function parseOptionValue(spec: ServerOptionSpec, raw: string, source: string): OptionValue {
  const bad = (expected: string) => invalidArgument(`${source} must be ${expected}, got "${raw}"`);
  const min = spec.min ?? 0;
  const range = `>= ${min}${spec.max === undefined ? "" : ` and <= ${spec.max}`}`;
  const inRange = (n: number) => n >= min && (spec.max === undefined || n <= spec.max);
  switch (spec.type) {
    case "integer": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isSafeInteger(n) || !inRange(n)) {
        throw bad(`a whole number ${range}`);
      }
      return n;
    }
    case "number": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n) || !inRange(n)) throw bad(`a number ${range}`);
      return n;
    }
    case "boolean":
      if (/^(1|true|yes)$/i.test(raw)) return true;
      if (/^(0|false|no)$/i.test(raw)) return false;
      throw bad("true or false");
    case "list": {
      const values = raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
      // `--api-key "$KEY"` with KEY unset must not quietly start an open server.
      if (spec.nonEmpty && values.length === 0) throw bad("non-empty (unset it to go without)");
      return values;
    }
    case "string":
      if (spec.choices && !spec.choices.includes(raw))
        throw bad(`one of ${spec.choices.join(", ")}`);
      return raw;
  }
}

/**
 * Merges the layers of configuration: values given as flags (already parsed,
 * keyed by {@link ServerConfig} field) win over env variables, which win over the
 * table's defaults.
 *
 * @throws InferdError invalid_argument for a bad env value, an incomplete TLS pair or
 *   a `--model-name` that cannot name a model.
 */
export function resolveServerConfig(
  flags: Readonly<Partial<Record<keyof ServerConfig, OptionValue>>>,
  env: Readonly<Record<string, string | undefined>>,
): ServerConfig {
  const merged: Partial<Record<keyof ServerConfig, OptionValue>> = {};
  for (const spec of SERVER_OPTIONS) {
    const raw = env[spec.env];
    const fromEnv = raw === undefined ? undefined : parseOptionValue(spec, raw, spec.env);
    const value = flags[spec.key] ?? fromEnv ?? spec.default;
    if (value !== undefined) merged[spec.key] = value;
  }
  // Every key without a default is optional in ServerConfig; parseOptionValue gave each its type.
  const config = merged as unknown as ServerConfig;
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw invalidArgument(
      "TLS needs both --tls-cert and --tls-key (or INFERD_TLS_CERT and INFERD_TLS_KEY)",
    );
  }
  if (config.modelName !== undefined && !isModelName(config.modelName)) {
    throw invalidArgument(
      `--model-name must be a model name (not empty, no "/", "\\" or leading "."), got ${JSON.stringify(config.modelName)}`,
    );
  }
  return config;
}
