import type { HostileRow } from "./hostile-row.js";
import { CONNECT_ROWS } from "./rows-connect.js";
import { GRPC_ROWS } from "./rows-grpc.js";
import { HTTP_ROWS } from "./rows-http.js";
import { OIP_ROWS } from "./rows-oip.js";

/**
 * The hostile table: every malformed request of the suite, with the exact answer it
 * must get. One array, read by `hostile-table.test.ts` and sent by one driver per
 * protocol (`send-row.ts`).
 */
export const HOSTILE_ROWS: readonly HostileRow[] = [
  ...GRPC_ROWS,
  ...CONNECT_ROWS,
  ...OIP_ROWS,
  ...HTTP_ROWS,
];
