import type { CallFields } from "./call-fields.js";
import type { RpcLabels } from "./rpc-labels.js";

/**
 * One finished call as the access log and the RPC metrics record it, whoever saw it
 * end: the interceptors (a call that reached them) or the transport (a call the
 * protocol refused before any interceptor ran). One shape for both, so that both
 * write the same line and move the same series.
 */
export interface RpcCall {
  readonly labels: RpcLabels;
  readonly peer: string;
  /** The `x-request-id` header, used when no message carried a `request_id`. */
  readonly headerRequestId: string | undefined;
  /** The name of the API key the call came with (never the key), when one was recognised. */
  readonly key?: string;
  /** "ok" or the snake_case code the client received. */
  readonly code: string;
  readonly durationMs: number;
  readonly fields: CallFields;
  /** The error, when the call failed. */
  readonly error?: unknown;
  /**
   * Set when the protocol refused the call (a body over the limit, a malformed body
   * or header) before any interceptor or handler ran.
   */
  readonly refused?: true;
}

/** Records a call that no interceptor saw: its access-log line and its RPC metrics. */
export type RecordRefusedCall = (call: RpcCall) => void;
