import { freemem, totalmem } from "node:os";

/**
 * The most memory this process may use: its container's cgroup limit
 * (`process.constrainedMemory`) where one is set below the machine's memory, else the
 * machine's. Why not `totalmem()` alone: in a container (Kubernetes, KServe) the
 * machine's memory is the node's, and a budget sized from it gets the process killed.
 */
export function memoryLimit(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  const machine = totalmem();
  return constrained > 0 && constrained < machine ? constrained : machine;
}

/**
 * Whether the process can take `bytes` more memory now: under its {@link memoryLimit}
 * less what it holds, and under what the machine has available. Why: a load that may
 * hold a second copy of a model's weights for a while does so only where that cannot
 * get the process killed for memory; elsewhere it takes the slower way that holds one.
 */
export function hasMemoryRoom(bytes: number): boolean {
  return Math.min(freemem(), memoryLimit() - process.memoryUsage.rss()) >= bytes;
}
