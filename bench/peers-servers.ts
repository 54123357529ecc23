import type { BenchFamily, BenchModel, BenchRepository } from "./bench-repository.js";
import type { PeerGroup, PeerTarget } from "./peers-scenarios.js";
import { type ServerProcess, startServerProcess } from "./server-process.js";

/** The servers one group drives, in the order each concurrency runs them. */
export interface GroupPlan {
  readonly targets: readonly PeerTarget[];
  /** The concurrencies this group runs of those asked (heavy: 64 only, as issue 14). */
  concurrencies(asked: readonly number[]): number[];
  /** Stops the peers this group started (not inferd). */
  stop(): Promise<void>;
}

function model(repo: BenchRepository, family: BenchFamily, batching: boolean): BenchModel {
  const found = repo.models.find((m) => m.family === family && m.batching === batching);
  if (found === undefined) throw new Error(`the bench repository has no ${family} model`);
  return found;
}

function naive(script: string, repo: BenchRepository, family: BenchFamily) {
  return startServerProcess({
    script: [`bench/${script}`, "--model", repo.modelPaths[family]],
  });
}

/**
 * ModelInfer with raw contents on inferd's batching model: run right after Predict on
 * the same model, so that the ratio of the two compares them under the same load.
 */
function modelInfer(on: BenchModel, port: number): PeerTarget {
  const label = "inferd ModelInfer raw, batching on";
  return {
    key: "modelInfer",
    label,
    protocol: "grpc",
    model: on,
    port,
    inferd: true,
    rpc: "modelInfer",
  };
}

/**
 * Starts the peers of `group` (the naive grpc-js or node:http server on the group's
 * model, and for gRPC the no-op server on inferd's lean path) and lists every target:
 * the naive peer first, then inferd with batching on and off (on only, per protocol,
 * over HTTP/1.1; for gRPC small, Open Inference ModelInfer right after Predict with
 * batching on), then the no-op floor. The naive peers are sent the request inferd
 * gets for `<family>_nobatch`; they ignore the model name.
 */
export async function planGroup(
  group: PeerGroup,
  repo: BenchRepository,
  inferdPort: number,
): Promise<GroupPlan> {
  const family = group === "heavy" ? "heavy" : "small";
  const on = model(repo, family, true);
  const off = model(repo, family, false);
  const inferd = { port: inferdPort, inferd: true } as const;
  const peers: ServerProcess[] = [];
  const stop = async () => {
    for (const peer of peers) await peer.stop();
  };
  try {
    const targets: PeerTarget[] = [];
    if (group === "http1") {
      peers.push(await naive("naive-http-server.ts", repo, family));
      const port = peers[0]?.port ?? 0;
      targets.push(
        {
          key: "naive",
          label: "naive node:http",
          port,
          protocol: "connect-json",
          model: off,
          inferd: false,
        },
        { key: "on", label: "inferd, batching on", protocol: "connect-json", model: on, ...inferd },
        { key: "on", label: "inferd, batching on", protocol: "grpc-web", model: on, ...inferd },
      );
    } else {
      peers.push(await naive("naive-grpc-server.ts", repo, family));
      const port = peers[0]?.port ?? 0;
      targets.push(
        { key: "naive", label: "naive grpc-js", port, protocol: "grpc", model: off, inferd: false },
        { key: "on", label: "inferd, batching on", protocol: "grpc", model: on, ...inferd },
        ...(group === "grpc" ? [modelInfer(on, inferdPort)] : []),
        { key: "off", label: "inferd, batching off", protocol: "grpc", model: off, ...inferd },
      );
    }
    if (group === "grpc") {
      peers.push(await startServerProcess({}));
      const port = peers[1]?.port ?? 0;
      targets.push({
        key: "noop",
        label: "inferd no-op Predict",
        port,
        protocol: "grpc",
        model: on,
        inferd: false,
      });
    }
    const concurrencies = (asked: readonly number[]) =>
      group === "heavy" ? asked.filter((c) => c === 64) : [...asked];
    return { targets, concurrencies, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
