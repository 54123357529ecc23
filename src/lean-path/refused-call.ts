import type { IncomingHttpHeaders } from "node:http";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import {
  forwardedForHeader,
  requestIdHeader,
  singleHeader,
} from "../connect-adapter/incoming-headers.js";
import { peerFrom } from "../observed-call/peer-context.js";
import type { RecordRefusedCall, RpcCall } from "../observed-call/rpc-call.js";
import { rpcLabelsFor } from "../observed-call/rpc-labels.js";

/** The error a lean path gives a call whose client left: as Connect's own paths report it. */
export const CANCELED = new ConnectError("the client cancelled the call", Code.Canceled);

/** A call a lean path refused before the interceptors ran, and how its request ends. */
export interface RefusedCallInit {
  readonly method: DescMethod;
  readonly headers: IncomingHttpHeaders;
  /** The connection's address, read at once: a closed stream has left its session. */
  readonly remoteAddress: string;
  readonly error: ConnectError;
  /** `performance.now()` when the call arrived. */
  readonly startedAt: number;
  /** Whether the request's stream or response has closed already. */
  readonly closed: boolean;
  /** Calls back once the stream or response has closed. */
  readonly onClose: (listener: () => void) => void;
  /** Whether the client left (reset, disconnect) rather than read the answer. */
  readonly left: () => boolean;
}

/**
 * Records a call refused before the interceptors saw it, as they would log it, once
 * its stream has closed: a client that left while it sent (the reader saw "premature
 * end" first) cancelled the call, whatever the answer would have been.
 */
export function recordRefusedCall(record: RecordRefusedCall, init: RefusedCallInit): void {
  const refused: RpcCall = {
    labels: rpcLabelsFor(init.method, singleHeader(init.headers["content-type"]) ?? null),
    peer: peerFrom(forwardedForHeader(init.headers), init.remoteAddress),
    headerRequestId: requestIdHeader(init.headers),
    code: codeToString(init.error.code),
    durationMs: performance.now() - init.startedAt,
    fields: {},
    error: init.error,
    refused: true,
  };
  const recordOnce = () => {
    record(init.left() ? { ...refused, code: "canceled", error: CANCELED } : refused);
  };
  if (init.closed) recordOnce();
  else init.onClose(recordOnce);
}
