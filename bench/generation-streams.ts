import { readFileSync } from "node:fs";
import type { Client } from "@connectrpc/connect";
import type { GenerationService } from "../gen/inferd/v1/generation_pb.js";

/** One Generate stream as the client saw it. */
export interface StreamResult {
  readonly ids: number[];
  /** From sending the request to the first message carrying tokens. */
  readonly ttftMs: number;
  readonly totalMs: number;
}

/** Aggregate figures of one concurrency level. */
export interface LevelResult {
  readonly c: number;
  readonly streams: number;
  readonly tokens: number;
  readonly tps: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU time over wall time while the level ran: cores kept busy by this process (the client). */
  readonly clientCores: number;
  /** The same for the server process, when its pid was given. */
  readonly serverCores: number | undefined;
}

/** utime + stime of a process in ms, from /proc (Linux); undefined elsewhere. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command; 100 ticks/s.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** Story openings of different lengths, so that concurrent sequences join and leave at different steps. */
export const PROMPTS = [
  "Once upon a time",
  "The little dog",
  "Lily and Ben went to the park to play with a ball",
  "Tom had a red car",
  "One day, a big bird",
  "",
  "Sue liked to sing. Every morning she",
  "The sun was hot and the cat",
];

export const median = (xs: readonly number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export const quantile = (xs: readonly number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? 0;
};

/** One greedy stream of exactly `tokens` tokens (ignore_eos). */
export async function greedyStream(
  client: Client<typeof GenerationService>,
  model: string,
  request: { prompt?: string; promptTokenIds?: number[] },
  tokens: number,
): Promise<StreamResult> {
  const started = performance.now();
  let ttftMs = 0;
  const ids: number[] = [];
  for await (const m of client.generate({
    model,
    ...request,
    temperature: 0,
    ignoreEos: true,
    maxTokens: tokens,
  })) {
    if (ids.length === 0 && m.tokenIds.length > 0) ttftMs = performance.now() - started;
    ids.push(...m.tokenIds);
  }
  return { ids, ttftMs, totalMs: performance.now() - started };
}

/**
 * `c` closed-loop clients, each running `perClient` streams back to back over rotating
 * prompts; aggregate tokens/s over the wall time of the whole level.
 */
export async function runLevel(
  run: (prompt: string) => Promise<StreamResult>,
  c: number,
  perClient: number,
  prompts: readonly string[],
  serverPid?: number,
): Promise<LevelResult> {
  const results: StreamResult[] = [];
  const cpu = process.cpuUsage();
  const serverCpu = serverPid === undefined ? undefined : processCpuMs(serverPid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: c }, async (_, w) => {
      for (let k = 0; k < perClient; k++) {
        results.push(await run(prompts[(w + k) % prompts.length] ?? ""));
      }
    }),
  );
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const serverEnd = serverPid === undefined ? undefined : processCpuMs(serverPid);
  const tokens = results.reduce((n, r) => n + r.ids.length, 0);
  const ttft = results.map((r) => r.ttftMs);
  return {
    c,
    streams: results.length,
    tokens,
    tps: (tokens * 1000) / ms,
    p50: quantile(ttft, 0.5),
    p99: quantile(ttft, 0.99),
    clientCores: (used.user + used.system) / 1000 / ms,
    serverCores:
      serverCpu === undefined || serverEnd === undefined ? undefined : (serverEnd - serverCpu) / ms,
  };
}
