import type { BenchModel } from "./bench-repository.js";
import { runH2load } from "./h2load-run.js";
import { type Http1Protocol, runHttp1Load } from "./http1-load.js";
import type { IdleLoop } from "./idle-loop-floor.js";
import type { LoadResult } from "./load-run.js";
import { runH2loadModelInfer } from "./model-infer-load.js";
import { scrapeEventLoopDelayP99, scrapeModelCounters, serverView } from "./server-metrics.js";
import { readThreadSched, schedDelta, type ThreadSched } from "./thread-sched.js";

/** The scenario families of the peers bench: one table and its own targets each. */
export type PeerGroup = "grpc" | "http1" | "heavy";

/**
 * Which server answered: a naive peer, inferd's Predict with batching on/off, the
 * no-op floor, or inferd's Open Inference ModelInfer (raw contents, batching on).
 */
export type PeerKey = "naive" | "on" | "off" | "noop" | "modelInfer";

/** The wire protocol of a run: gRPC over h2c, or one of the HTTP/1.1 protocols. */
export type PeerProtocol = "grpc" | Http1Protocol;

/** One server and protocol to drive, and the model named in the request. */
export interface PeerTarget {
  readonly key: PeerKey;
  readonly label: string;
  readonly port: number;
  readonly protocol: PeerProtocol;
  readonly model: BenchModel;
  /** An inferd process: errors and event-loop delay come from its /metrics. */
  readonly inferd: boolean;
  /** The call sent: inferd.v1 Predict (default), or OIP ModelInfer with raw contents (gRPC only). */
  readonly rpc?: "predict" | "modelInfer";
}

/** One closed-loop run of the peers bench and what the server saw of it. */
export interface PeerRow {
  readonly group: PeerGroup;
  readonly target: PeerTarget;
  readonly concurrency: number;
  readonly result: LoadResult;
  /** Calls inferd counted as failed (not canceled) during the run; 0 for other servers. */
  readonly serverFailed: number;
  /** inferd's event-loop delay p99 during the run (ms); NaN for other servers. */
  readonly eventLoopP99Ms: number;
  /**
   * The idle sibling's event-loop p99 during the same run (ms, same resolution taken
   * off): the machine's floor for `eventLoopP99Ms`; NaN without one.
   */
  readonly floorP99Ms: number;
  /** inferd's threads' scheduler counters over an inferd run (Linux), by thread id. */
  readonly threads?: ReadonlyMap<number, ThreadSched>;
}

/** Durations and h2c connection count shared by every run. */
export interface PeerRunSettings {
  readonly durationMs: number;
  readonly warmupMs: number;
  /** HTTP/2 connections for gRPC (issue 14 uses 4); HTTP/1.1 uses one per call. */
  readonly channels: number;
  /** The idle sibling read around every run, for the floor column. */
  readonly idleLoop?: IdleLoop;
  /** inferd's process id, for its threads' scheduler counters. */
  readonly inferdPid?: number;
}

/**
 * Drives `target` at `concurrency` with h2load (h2c for gRPC, `--h1` otherwise).
 * Around an inferd run it scrapes /metrics: the model's failed calls (gRPC and
 * gRPC-Web errors answer HTTP 200, so h2load cannot see them) and the event-loop
 * delay p99 of the run alone (the scrape before resets prom-client's histogram).
 */
export async function runPeerScenario(
  group: PeerGroup,
  target: PeerTarget,
  concurrency: number,
  settings: PeerRunSettings,
): Promise<PeerRow> {
  const options = {
    ...settings,
    target: `127.0.0.1:${target.port}`,
    model: target.model,
    concurrency,
    channels: Math.min(concurrency, settings.channels),
  };
  const { port, inferd, model } = target;
  const { idleLoop, inferdPid } = settings;
  const before = inferd ? await scrapeModelCounters(port, model.name) : undefined;
  if (inferd) await scrapeEventLoopDelayP99(port);
  await idleLoop?.read();
  const schedBefore = inferd && inferdPid ? await readThreadSched(inferdPid) : undefined;
  const result =
    target.protocol !== "grpc"
      ? await runHttp1Load(target.protocol, options)
      : target.rpc === "modelInfer"
        ? await runH2loadModelInfer(options)
        : await runH2load(options);
  const eventLoopP99Ms = inferd ? await scrapeEventLoopDelayP99(port) : Number.NaN;
  const floorP99Ms = idleLoop ? await idleLoop.read() : Number.NaN;
  const threads =
    schedBefore && inferdPid
      ? schedDelta(schedBefore, await readThreadSched(inferdPid))
      : undefined;
  const after = before && (await scrapeModelCounters(port, model.name));
  const serverFailed = before && after ? serverView(before, after).failed : 0;
  const row = { group, target, concurrency, result, serverFailed, eventLoopP99Ms, floorP99Ms };
  return threads ? { ...row, threads } : row;
}
