import { type OptionValue, SERVER_OPTIONS, type ServerOptionSpec } from "./server-options.js";

/** Markers around the generated table in README.md. */
export const CONFIG_TABLE_START = "<!-- config-table:start -->";
/** End marker of the generated table (see {@link CONFIG_TABLE_START}). */
export const CONFIG_TABLE_END = "<!-- config-table:end -->";

/** How a default reads in help and docs: lists as "none" when empty, unset as "-". */
export function formatDefault(value: OptionValue | undefined): string {
  if (value === undefined) return "-";
  if (Array.isArray(value)) return value.length === 0 ? "none" : value.join(",");
  return String(value);
}

const cell = (text: string) => text.replace(/\|/g, "\\|");

function row(spec: ServerOptionSpec): string {
  const choices = spec.choices ? ` (${spec.choices.join(", ")})` : "";
  return `| \`--${spec.flag}\` | \`${spec.env}\` | \`${formatDefault(spec.default)}\` | ${cell(spec.description + choices)} |`;
}

/**
 * Renders the README configuration table from {@link SERVER_OPTIONS}, so that the
 * documentation cannot drift from the flags (a test compares README.md with this).
 */
export function renderConfigTable(options: readonly ServerOptionSpec[] = SERVER_OPTIONS): string {
  return [
    "| Flag | Environment | Default | Description |",
    "| --- | --- | --- | --- |",
    ...options.map(row),
  ].join("\n");
}
