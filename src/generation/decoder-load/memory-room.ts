import { freemem, totalmem } from "node:os";

/**
 * Whether the process can take `bytes` more memory now: under its limit (a container's
 * cgroup limit, `process.constrainedMemory`, else the machine's memory) less what it
 * holds, and under what the machine has available. Why: a load that may hold a second
 * copy of a model's weights for a while does so only where that cannot get the
 * process killed for memory; elsewhere it takes the slower way that holds one.
 */
export function hasMemoryRoom(bytes: number): boolean {
  const constrained = process.constrainedMemory?.() ?? 0;
  const machine = totalmem();
  const limit = constrained > 0 && constrained < machine ? constrained : machine;
  return Math.min(freemem(), limit - process.memoryUsage.rss()) >= bytes;
}
