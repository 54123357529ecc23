import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureLogs } from "../helpers/captured-logs.js";
import { useInferd } from "../helpers/use-inferd.js";
import { FUZZ_SEEDS } from "./fuzz-seeds.js";
import type { HostileRow } from "./hostile-row.js";
import { HOSTILE_ROWS } from "./hostile-rows.js";
import { HOSTILE_MAX_REQUEST_BYTES } from "./rows-grpc.js";
import { createHostileClient, type HostileClient, observed } from "./send-row.js";

/**
 * The permanent hostile table (issue 16): every malformed request gets its exact code
 * or status and message fragment, the server stays up, and client garbage is never
 * logged at error level. Rows inferd answers wrong today run as `it.fails` with the
 * reason: fixing one turns its test red, and the row loses its `todo`.
 */
const logs = captureLogs();
const inferd = useInferd({
  models: ["iris", "tiny_llama"],
  config: { maxRequestBytes: HOSTILE_MAX_REQUEST_BYTES },
  logger: logs.logger,
});
let client: HostileClient;
beforeAll(() => {
  client = createHostileClient(inferd.port);
});
afterAll(() => client?.close());

/** The row with its request tagged `x-request-id: hostile-<index>`, to find its log lines. */
const tagged = (row: HostileRow, index: number): HostileRow => ({
  ...row,
  request: {
    ...row.request,
    headers: { ...row.request.headers, "x-request-id": `hostile-${index}` },
  },
});

describe("the hostile table", () => {
  it("holds at least 100 rows with distinct names", () => {
    expect(HOSTILE_ROWS.length).toBeGreaterThanOrEqual(100);
    expect(new Set(HOSTILE_ROWS.map((r) => r.name)).size).toBe(HOSTILE_ROWS.length);
  });

  HOSTILE_ROWS.forEach((row, index) => {
    const run = async () => {
      const outcome = await client.send(tagged(row, index));
      expect(observed(row, outcome), `${row.protocol} ${row.request.path}`).toEqual(row.expect);
    };
    if (row.todo === undefined) it(row.name, run);
    else it.fails(`${row.name} [todo: ${row.todo}]`, run);
  });

  it("logged none of the answered rows at error level (todo and logTodo rows aside)", () => {
    const todo = new Set(
      HOSTILE_ROWS.flatMap((row, index) =>
        row.todo === undefined && row.logTodo === undefined ? [] : [`hostile-${index}`],
      ),
    );
    const errors = logs
      .parsed()
      .filter((line) => Number(line.level) >= 50 && !todo.has(String(line.request_id)));
    expect(errors.map((line) => `${line.request_id} ${line.msg} ${line.error ?? ""}`)).toEqual([]);
  });

  it("still serves every protocol's valid request afterwards", async () => {
    for (const seed of FUZZ_SEEDS) {
      const { status, code } = await client.sendWire(seed.request, seed.overHttp2);
      expect({ protocol: seed.protocol, status, code }).toEqual({
        protocol: seed.protocol,
        status: 200,
        code: "ok",
      });
    }
  });
});
