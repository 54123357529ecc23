import type { SeededRandom } from "../../scripts/fixtures/seeded-random.js";
import type { FuzzSeed } from "./fuzz-seeds.js";
import type { WireRequest } from "./hostile-wire.js";

type Mutation = (r: WireRequest, rand: Rand, seed: FuzzSeed) => WireRequest;

/** Integer and pick helpers over a seeded source. */
export interface Rand {
  int(below: number): number;
  pick<T>(items: readonly T[]): T;
}

export function randOf(random: SeededRandom): Rand {
  const int = (below: number) => Math.floor(random.next() * below);
  return { int, pick: (items) => items[int(items.length)] as (typeof items)[number] };
}

const withBody = (r: WireRequest, body: Uint8Array): WireRequest => ({ ...r, body });
const withHeader = (r: WireRequest, name: string, value: string | undefined): WireRequest => {
  const { [name]: _, ...rest } = r.headers;
  return { ...r, headers: value === undefined ? rest : { ...rest, [name]: value } };
};
const randomBytes = (rand: Rand, n: number) => Uint8Array.from({ length: n }, () => rand.int(256));

const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xff, 0xfe, 0x0a, 0x22, 0x7b, 0x5b];
const CONTENT_TYPES = [
  "application/grpc",
  "application/grpc+proto",
  "application/grpc+json",
  "application/grpc-web+proto",
  "application/grpc-web-text",
  "application/json",
  "application/proto",
  "application/connect+proto",
  "application/connect+json",
  "text/plain",
  "application/grpc+bogus",
  "",
];
const TIMEOUTS = ["1n", "1m", "5S", "99999999H", "soon", "-1S", "1", "1x", "100000000S", "0S"];
const ENCODINGS = ["gzip", "br", "identity", "snappy", "deflate", "gzip, br"];

/** Byte-level mutations of the body. */
const BODY: Mutation[] = [
  (r, rand) => {
    const body = Uint8Array.from(r.body);
    for (let k = 1 + rand.int(4); k > 0 && body.length > 0; k--)
      body[rand.int(body.length)] = rand.int(256);
    return withBody(r, body);
  },
  (r, rand) => {
    const body = Uint8Array.from(r.body);
    if (body.length > 0) body[rand.int(body.length)] = rand.pick(INTERESTING);
    return withBody(r, body);
  },
  (r, rand) => withBody(r, r.body.slice(0, rand.int(r.body.length + 1))),
  (r, rand) => withBody(r, Buffer.concat([r.body, randomBytes(rand, 1 + rand.int(16))])),
  (r, rand) => withBody(r, randomBytes(rand, rand.int(64))),
  (r, rand) => {
    const at = rand.int(r.body.length + 1);
    return withBody(
      r,
      Buffer.concat([r.body.slice(0, at), Uint8Array.of(0xff, 0xfe), r.body.slice(at)]),
    );
  },
  (r, rand) => {
    const at = rand.int(r.body.length + 1);
    return withBody(r, Buffer.concat([r.body.slice(0, at), r.body.slice(at + 1 + rand.int(8))]));
  },
];

/** Envelope mutations: flags, declared length, repetition. */
const FRAME: Mutation[] = [
  (r, rand) => {
    const body = Buffer.from(r.body);
    if (body.length > 0) body[0] = rand.pick([1, 2, 3, 0x80, 0x81, 0xff, 0x40]);
    return withBody(r, body);
  },
  (r, rand) => {
    const body = Buffer.from(r.body);
    const length = body.length - 5;
    const declared = rand.pick([
      0,
      length - 1,
      length + 1,
      0xffffffff,
      0x7fffffff,
      65_537,
      1 << 24,
      rand.int(1 << 20),
    ]);
    if (body.length >= 5) body.writeUInt32BE(Math.max(0, declared) >>> 0, 1);
    return withBody(r, body);
  },
  (r) => withBody(r, Buffer.concat([r.body, r.body])),
  (r, rand) =>
    withBody(
      r,
      Buffer.concat([r.body, Uint8Array.of(rand.pick([0, 0x80, 2]), 0, 0, 0, 2, 0x7b, 0x7d)]),
    ),
];

/** Header, method and path mutations. */
const HEAD: Mutation[] = [
  (r, rand) => withHeader(r, "content-type", rand.pick(CONTENT_TYPES) || undefined),
  (r, rand) => withHeader(r, "grpc-timeout", rand.pick(TIMEOUTS)),
  (r, rand) =>
    withHeader(r, "connect-timeout-ms", rand.pick(["-1", "soon", "1", "99999999999", "0"])),
  (r, rand) =>
    withHeader(
      r,
      rand.pick(["grpc-encoding", "content-encoding", "connect-content-encoding"]),
      rand.pick(ENCODINGS),
    ),
  (r, rand) =>
    withHeader(r, "connect-protocol-version", rand.pick(["1", "2", "", "x"]) || undefined),
  (r) => withHeader(r, "te", undefined),
  (r, rand) => ({ ...r, method: rand.pick(["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]) }),
  (r, rand) => {
    const chars = [...r.path];
    chars[1 + rand.int(chars.length - 1)] = rand.pick(["/", ".", "%", "x", "~", "%2e"]);
    return { ...r, path: chars.join("") };
  },
];

/** One mutated copy of `seed`'s request: one to three mutations drawn from the families that apply. */
export function mutate(seed: FuzzSeed, rand: Rand): WireRequest {
  const families = seed.framed ? [BODY, BODY, FRAME, FRAME, HEAD] : [BODY, BODY, BODY, HEAD];
  let request = seed.request;
  for (let k = 1 + rand.int(3); k > 0; k--)
    request = rand.pick(rand.pick(families))(request, rand, seed);
  return request;
}
