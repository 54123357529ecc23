import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { z } from "zod";
import { SCOPES } from "./scope.js";

const rate = () => z.number().positive().finite();

const keySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "1 to 64 of A-Z a-z 0-9 . _ -"),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "64 hex digits: `printf %s KEY | sha256sum`")
    .transform((hex) => hex.toLowerCase()),
  scopes: z.array(z.enum(SCOPES)).min(1),
  requests_per_second: rate().optional(),
  burst: rate().optional(),
  generated_tokens_per_second: rate().optional(),
  generated_tokens_burst: rate().optional(),
});

const fileSchema = z.strictObject({ keys: z.array(keySchema) });

/** One key of the keys file: its name, the SHA-256 of the secret (hex), scopes and limits. */
export type KeyEntry = z.infer<typeof keySchema>;

/**
 * Parses a keys file (YAML, or JSON, which YAML reads too): `{keys: [{name, sha256,
 * scopes, requests_per_second?, burst?, generated_tokens_per_second?,
 * generated_tokens_burst?}]}`. The file holds hashes, never keys, so it may be shown.
 * @throws Error naming the file and the first problem (a bad field, a repeated name or hash).
 */
export function parseKeysFile(text: string, source: string): KeyEntry[] {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new Error(`${source}: not YAML or JSON: ${(error as Error).message}`);
  }
  const result = fileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.map(String).join(".") || "file";
    throw new Error(`${source}: ${where}: ${issue?.message ?? "invalid"}`);
  }
  const { keys } = result.data;
  for (const [field, values] of [
    ["name", keys.map((k) => k.name)],
    ["sha256", keys.map((k) => k.sha256)],
  ] as const) {
    const repeated = values.find((v, i) => values.indexOf(v) !== i);
    if (repeated !== undefined) throw new Error(`${source}: two keys have the same ${field}`);
  }
  return keys;
}

/** Reads and parses a keys file. @throws Error as {@link parseKeysFile}, or when it cannot be read. */
export async function readKeysFile(path: string): Promise<KeyEntry[]> {
  return parseKeysFile(await readFile(path, "utf8"), path);
}

/** {@link readKeysFile} at start, where failing to read the file must stop the server. */
export function readKeysFileSync(path: string): KeyEntry[] {
  return parseKeysFile(readFileSync(path, "utf8"), path);
}
