import { createSeededRandom } from "../../scripts/fixtures/seeded-random.js";
import { mutate, randOf } from "./fuzz-mutations.js";
import { FUZZ_SEEDS, type FuzzSeed } from "./fuzz-seeds.js";
import type { Outcome, WireRequest } from "./hostile-wire.js";

/** Where the fuzz sends: one request over HTTP/2 or HTTP/1.1 (see `createHostileClient`). */
export interface FuzzTarget {
  sendWire(request: WireRequest, overHttp2: boolean): Promise<Outcome>;
}

export interface FuzzOptions {
  /** The PRNG seed: the same seed sends the same requests. */
  readonly seed: number;
  /** Mutated requests per seed request (protocol). */
  readonly perSeed: number;
  /** Requests in flight at once (default 8). */
  readonly concurrency?: number;
  /** An answer slower than this counts as a hang (default 60 s: generous on a loaded machine). */
  readonly hangMs?: number;
  readonly seeds?: readonly FuzzSeed[];
}

/** A request the server answered as its own fault, or not at all. */
export interface FuzzFault {
  readonly protocol: string;
  readonly request: {
    method: string;
    path: string;
    headers: Record<string, string>;
    bodyHex: string;
  };
  readonly outcome: Outcome | "hang";
}

export interface FuzzReport {
  readonly sent: number;
  /** Answers by "protocol status code", e.g. "grpc 200 invalid_argument". */
  readonly answers: Readonly<Record<string, number>>;
  readonly faults: readonly FuzzFault[];
}

/** Answers that are the server's fault: HTTP 500, INTERNAL, UNKNOWN, DATA_LOSS. */
export function isServerFault(outcome: Outcome): boolean {
  return outcome.status === 500 || ["internal", "unknown", "data_loss"].includes(outcome.code);
}

/**
 * Sends `perSeed` seeded mutations of every seed request (bodies, envelopes, headers,
 * methods, paths) and reports every answer that is a server fault or never comes.
 * A client-side refusal to send (status 0, e.g. a reset stream) is an answer, not a fault.
 */
export async function runFuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const rand = randOf(createSeededRandom(options.seed));
  const seeds = options.seeds ?? FUZZ_SEEDS;
  const jobs = seeds.flatMap((seed) =>
    Array.from({ length: options.perSeed }, () => ({ seed, request: mutate(seed, rand) })),
  );
  const answers: Record<string, number> = {};
  const faults: FuzzFault[] = [];
  const hangMs = options.hangMs ?? 60_000;
  let next = 0;
  const worker = async () => {
    for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) {
      const outcome = await withHangLimit(target.sendWire(job.request, job.seed.overHttp2), hangMs);
      const key =
        outcome === "hang"
          ? `${job.seed.protocol} hang`
          : `${job.seed.protocol} ${outcome.status} ${outcome.code}`;
      answers[key] = (answers[key] ?? 0) + 1;
      if (outcome === "hang" || isServerFault(outcome))
        faults.push(fault(job.seed.protocol, job.request, outcome));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  return { sent: jobs.length, answers, faults };
}

async function withHangLimit(answer: Promise<Outcome>, ms: number): Promise<Outcome | "hang"> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<"hang">((resolve) => {
    timer = setTimeout(() => resolve("hang"), ms);
  });
  try {
    return await Promise.race([answer, hang]);
  } finally {
    clearTimeout(timer);
  }
}

function fault(protocol: string, request: WireRequest, outcome: Outcome | "hang"): FuzzFault {
  const { method, path, headers } = request;
  const bodyHex = Buffer.from(request.body).toString("hex").slice(0, 400);
  return { protocol, request: { method, path, headers: { ...headers }, bodyHex }, outcome };
}
