/**
 * A process that does nothing but measure its own event-loop delay, at prom-client's
 * resolution (10 ms, as inferd's `nodejs_eventloop_lag_*` gauges). Run beside inferd
 * under load, its p99 is the floor the machine's scheduler alone puts under any event
 * loop: what inferd's p99 cannot go below whatever inferd does. Started by
 * `startIdleLoop` (bench/idle-loop-floor.ts) with an IPC channel: each "read" message
 * answers the p99 since the previous one, in ms, resolution included, and resets.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
process.on("message", (message) => {
  if (message !== "read") return;
  process.send?.({ p99Ms: histogram.percentile(99) / 1e6 });
  histogram.reset();
});
process.send?.("ready");
