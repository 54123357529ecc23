import { Command, InvalidArgumentError, Option } from "commander";
import { formatDefault } from "../config/render-config-table.js";
import { parseOptionValue, resolveServerConfig } from "../config/resolve-server-config.js";
import {
  type OptionValue,
  SERVER_OPTIONS,
  type ServerConfig,
  type ServerOptionSpec,
} from "../config/server-options.js";
import { isInferdError } from "../errors/inferd-error.js";

/** What the `inferd` command reads besides argv, and what it runs: injected so tests need no process. */
export interface ServerCommandOptions {
  /** Environment to read INFERD_* variables from (process.env in main). */
  env: Readonly<Record<string, string | undefined>>;
  /** Called with the merged configuration once the command line parsed. */
  run: (config: ServerConfig) => Promise<void> | void;
}

function toOption(spec: ServerOptionSpec): Option {
  const arg = spec.type === "boolean" ? "" : spec.type === "list" ? " <value>" : ` <${spec.type}>`;
  const choices = spec.choices ? `; one of ${spec.choices.join(", ")}` : "";
  const help = `${spec.description}${choices} (default: ${formatDefault(spec.default)}, env: ${spec.env})`;
  const option = new Option(`--${spec.flag}${arg}`, help);
  if (spec.type === "boolean") return option;
  return option.argParser((raw: string, previous: OptionValue | undefined) => {
    try {
      const value = parseOptionValue(spec, raw, `--${spec.flag}`);
      // Repeatable flags accumulate; the env/default layers are merged later, never appended to.
      return Array.isArray(value) && Array.isArray(previous) ? [...previous, ...value] : value;
    } catch (error) {
      throw new InvalidArgumentError(isInferdError(error) ? error.message : String(error));
    }
  });
}

/**
 * The `inferd` command, built from {@link SERVER_OPTIONS}: `--help` lists every
 * flag with its default and env variable. Commander sees only the flags (no
 * defaults, no env), so that {@link resolveServerConfig} alone decides precedence.
 */
export function createServerCommand(options: ServerCommandOptions): Command {
  const command = new Command("inferd")
    .description(
      "Model inference server: ONNX models over gRPC, gRPC-Web, Connect and HTTP on one port",
    )
    .allowExcessArguments(false);
  for (const spec of SERVER_OPTIONS) command.addOption(toOption(spec));
  command.action(async () => {
    const flags = command.opts<Partial<Record<keyof ServerConfig, OptionValue>>>();
    await options.run(resolveServerConfig(flags, options.env));
  });
  return command;
}
