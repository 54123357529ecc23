/** What the planner needs to know about a queued request. */
export interface Plannable {
  /** Rows the request contributes (its inputs' dim 0). */
  readonly rows: number;
  /** Requests with equal keys may share a batch; undefined runs alone. */
  readonly groupKey: string | undefined;
  /** `performance.now()` when it entered the queue. */
  readonly enqueuedAt: number;
}

/**
 * How long requests wait for company when an instance is free: "adaptive" not at all
 * (they wait only while every instance is busy, so batching costs no latency at low
 * load); "fixed" up to the delay unless a full or preferred batch forms (Triton's).
 */
export type QueueDelayMode = "adaptive" | "fixed";

/** When a queue dispatches: most rows, longest wait of its oldest request, sizes that go at once. */
export interface BatchPolicy {
  readonly maxBatchSize: number;
  readonly maxQueueDelayMs: number;
  readonly preferredBatchSizes: ReadonlySet<number>;
  readonly queueDelay: QueueDelayMode;
}

/** Either the requests to run now, or the time to look again (Infinity: only on new events). */
export type BatchPlan<R> =
  | { readonly kind: "dispatch"; readonly members: readonly R[] }
  | { readonly kind: "wait"; readonly until: number };

/**
 * Chooses the next batch from a queue already in leaving order (priority, then
 * arrival) for an instance that is free: the caller asks only then. Groups are
 * visited in the order of their first request; requests too large to fit beside
 * earlier ones are skipped, not blocking smaller ones behind them.
 * Adaptive: the first group dispatches at once, as many rows as fit (what queued up
 * while every instance was busy rides together; preferred sizes are not waited for).
 * Fixed (Triton's): a group dispatches when it is full, when a prefix of it reaches a
 * preferred size (the largest such prefix), when the delay is 0, or when its first
 * request has waited the delay (then the largest batch that fits).
 */
export function planNextBatch<R extends Plannable>(
  queue: readonly R[],
  now: number,
  policy: BatchPolicy,
): BatchPlan<R> {
  const first = queue[0];
  // The head's group goes first and, adaptive or ungrouped, at once: no need to group
  // the whole queue (one Map entry per queued request, per dispatch, at any depth).
  if (first !== undefined && (first.groupKey === undefined || policy.queueDelay === "adaptive")) {
    if (first.groupKey === undefined) return { kind: "dispatch", members: [first] };
    return { kind: "dispatch", members: fill(groupOf(queue, first.groupKey), policy).members };
  }
  let until = Number.POSITIVE_INFINITY;
  for (const group of groupsInOrder(queue)) {
    const head = group[0];
    if (head === undefined) continue;
    if (head.groupKey === undefined) return { kind: "dispatch", members: [head] };
    const { members, rows, preferredCut } = fill(group, policy);
    if (policy.queueDelay === "adaptive") return { kind: "dispatch", members };
    if (preferredCut > 0 && rows !== policy.maxBatchSize) {
      return { kind: "dispatch", members: members.slice(0, preferredCut) };
    }
    const dueAt = head.enqueuedAt + policy.maxQueueDelayMs;
    if (rows >= policy.maxBatchSize || policy.maxQueueDelayMs <= 0 || now >= dueAt) {
      return { kind: "dispatch", members };
    }
    until = Math.min(until, dueAt);
  }
  return { kind: "wait", until };
}

/** The requests of one group, in queue order. */
function groupOf<R extends Plannable>(queue: readonly R[], key: string): R[] {
  const group: R[] = [];
  for (const request of queue) if (request.groupKey === key) group.push(request);
  return group;
}

function* groupsInOrder<R extends Plannable>(queue: readonly R[]): Generator<R[]> {
  const groups = new Map<string | R, R[]>();
  for (const request of queue) {
    const key = request.groupKey ?? request;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [request]);
    else group.push(request);
  }
  yield* groups.values();
}

function fill<R extends Plannable>(group: readonly R[], policy: BatchPolicy) {
  const members: R[] = [];
  let rows = 0;
  let preferredCut = 0;
  for (const request of group) {
    // The head always goes, even if larger than maxBatchSize, so it cannot starve.
    if (members.length > 0 && rows + request.rows > policy.maxBatchSize) continue;
    members.push(request);
    rows += request.rows;
    if (policy.preferredBatchSizes.has(rows)) preferredCut = members.length;
  }
  return { members, rows, preferredCut };
}
