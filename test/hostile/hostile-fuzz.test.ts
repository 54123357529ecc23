import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useInferd } from "../helpers/use-inferd.js";
import { FUZZ_SEEDS } from "./fuzz-seeds.js";
import { HOSTILE_MAX_REQUEST_BYTES } from "./rows-grpc.js";
import { runFuzz } from "./run-fuzz.js";
import { createHostileClient, type HostileClient } from "./send-row.js";

/**
 * A bounded seeded fuzz of every protocol (issue 16): mutated bodies, envelopes and
 * headers never get INTERNAL, UNKNOWN or HTTP 500, never go unanswered, raise no
 * unhandled rejection, and valid calls are still served after. HOSTILE_FUZZ_N and
 * HOSTILE_FUZZ_SEED override the size and the seed (a failure prints the request).
 */
const PER_SEED = Number(process.env.HOSTILE_FUZZ_N ?? 500);
const SEED = Number(process.env.HOSTILE_FUZZ_SEED ?? 16);

const inferd = useInferd({
  models: ["iris", "tiny_llama"],
  config: { maxRequestBytes: HOSTILE_MAX_REQUEST_BYTES },
});
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => void rejections.push(reason);
let client: HostileClient;
beforeAll(() => {
  client = createHostileClient(inferd.port);
  process.on("unhandledRejection", onRejection);
});
afterAll(() => {
  process.off("unhandledRejection", onRejection);
  client?.close();
});

describe("the hostile fuzz", () => {
  it(`answers ${PER_SEED} mutations of each of ${FUZZ_SEEDS.length} protocols without a server fault`, {
    timeout: 300_000,
  }, async () => {
    const report = await runFuzz(client, { seed: SEED, perSeed: PER_SEED });
    expect(report.sent).toBe(PER_SEED * FUZZ_SEEDS.length);
    expect(report.faults.slice(0, 5)).toEqual([]);
    expect(rejections).toEqual([]);
  });

  it("still serves every protocol's valid request afterwards", async () => {
    const fresh = createHostileClient(inferd.port);
    try {
      for (const seed of FUZZ_SEEDS) {
        const outcome = await fresh.sendWire(seed.request, seed.overHttp2);
        expect({ protocol: seed.protocol, status: outcome.status, code: outcome.code }).toEqual({
          protocol: seed.protocol,
          status: 200,
          code: "ok",
        });
      }
    } finally {
      fresh.close();
    }
  });
});
