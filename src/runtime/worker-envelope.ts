/**
 * The envelope every inferd worker thread speaks (session workers, generation
 * workers): the lifecycle messages below plus the worker's own jobs, each tagged by
 * `type` and, when it belongs to one job or sequence, by a numeric `id` the parent
 * picks. Shared so that one lifecycle ({@link WorkerThread}, {@link serveWorker})
 * drives them all. Type-only: safe to import from any worker script.
 */

/** A message of the envelope: tagged by `type`. */
export interface WorkerMessage {
  readonly type: string;
}

/** A message about one job or sequence: `id` is the parent's, echoed back by the worker. */
export interface WorkerJobMessage extends WorkerMessage {
  readonly id: number;
}

/** Asks the worker to release what it holds, answer "closed" and end. */
export interface WorkerCloseMessage {
  readonly type: "close";
}

/**
 * What every worker sends about its own life: exactly one of "ready" (with `Ready`,
 * what the parent needs to know of the loaded worker) or "load-error" first, and
 * "closed" last, once released after a "close".
 */
export type WorkerLifecycleMessage<Ready extends object> =
  | ({ readonly type: "ready" } & Ready)
  | { readonly type: "load-error"; readonly message: string }
  | { readonly type: "closed" };

/** The "ready" message of a worker's protocol `From`. */
export type WorkerReadyMessage<From extends WorkerMessage> = Extract<From, { type: "ready" }>;

/** The messages of a worker's protocol `From` that are its own jobs' replies, not its lifecycle. */
export type WorkerReply<From extends WorkerMessage> = Exclude<
  From,
  { readonly type: "ready" | "load-error" | "closed" }
>;
