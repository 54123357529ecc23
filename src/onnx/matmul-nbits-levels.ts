import { forEachField } from "./protobuf-bytes.js";

/*
 * MatMulNBits' accuracy_level edited in the serialised model itself: a graph of
 * inline int4 weights is hundreds of megabytes, and decoding and re-encoding it to
 * change one byte per node would cost a copy of it each time (decoder-session.ts
 * toggles the level twice per graph on a first load).
 */

/** ModelProto, GraphProto, NodeProto and AttributeProto field numbers (onnx.proto). */
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;
const ATTR_NAME = 1;
const ATTR_I = 3;
const ATTR_G = 6;
const ATTR_GRAPHS = 11;

/** Where the com.microsoft MatMulNBits nodes of a serialised model keep their accuracy_level. */
export interface MatMulNBitsLevels {
  /** Offsets of each node's accuracy_level value, a one-byte varint (levels 0-4), in file order. */
  readonly offsets: readonly number[];
  /** Nodes whose level cannot be set in place: no such attribute (or no `i`), or a longer value. */
  readonly unpatchable: number;
}

/**
 * Finds every com.microsoft MatMulNBits node's accuracy_level in `model` (a ModelProto),
 * in the main graph and in subgraphs of If, Loop and Scan nodes, without decoding the
 * model: only the node headers are walked, the weights are skipped by their length.
 * @throws Error when the bytes are not a well-formed protobuf where walked.
 */
export function findMatMulNBitsLevels(model: Uint8Array): MatMulNBitsLevels {
  const found = { offsets: [] as number[], unpatchable: 0 };
  forEachField(model, 0, model.length, (field, from, to) => {
    if (field === MODEL_GRAPH) walkGraph(model, from, to, found);
  });
  return found;
}

/**
 * Offsets of the levels that round activations (2 fp16, 3 bf16, 4 int8; 0 and 1 keep
 * float32), the ones the append-KV check sets to 0.
 * @throws what {@link findMatMulNBitsLevels} throws.
 */
export function roundingLevelOffsets(model: Uint8Array): number[] {
  return findMatMulNBitsLevels(model).offsets.filter((offset) => (model[offset] ?? 0) >= 2);
}

/**
 * Writes `level` (0-127: one byte) at each of `offsets` (from {@link findMatMulNBitsLevels}),
 * in place, and returns the bytes they held, so that {@link restoreLevels} can put them back.
 */
export function patchLevels(
  model: Uint8Array,
  offsets: readonly number[],
  level: number,
): number[] {
  if (!Number.isInteger(level) || level < 0 || level > 127) throw new RangeError(`level ${level}`);
  return offsets.map((offset) => {
    const held = model[offset] ?? 0;
    model[offset] = level;
    return held;
  });
}

/** Puts back the bytes {@link patchLevels} returned, at the same offsets. */
export function restoreLevels(
  model: Uint8Array,
  offsets: readonly number[],
  held: readonly number[],
): void {
  offsets.forEach((offset, i) => {
    model[offset] = held[i] ?? 0;
  });
}

type Found = { offsets: number[]; unpatchable: number };

function walkGraph(model: Uint8Array, start: number, end: number, found: Found): void {
  forEachField(model, start, end, (field, from, to) => {
    if (field === GRAPH_NODE) walkNode(model, from, to, found);
  });
}

/** One NodeProto: its op type and domain may follow its attributes, so both are read first. */
function walkNode(model: Uint8Array, start: number, end: number, found: Found): void {
  let opType = "";
  let domain = "";
  const attributes: [number, number][] = [];
  forEachField(model, start, end, (field, from, to) => {
    if (field === NODE_OP_TYPE) opType = text(model, from, to);
    else if (field === NODE_DOMAIN) domain = text(model, from, to);
    else if (field === NODE_ATTRIBUTE) attributes.push([from, to]);
  });
  const isMatMulNBits = opType === "MatMulNBits" && domain === "com.microsoft";
  let site: number | undefined;
  for (const [from, to] of attributes) site = walkAttribute(model, from, to, found) ?? site;
  if (!isMatMulNBits) return;
  if (site === undefined) found.unpatchable++;
  else found.offsets.push(site);
}

/**
 * One AttributeProto: its subgraphs are walked; returns the offset of its one-byte `i`
 * when it is accuracy_level, undefined otherwise.
 */
function walkAttribute(model: Uint8Array, start: number, end: number, found: Found) {
  let name = "";
  let i: [number, number] | undefined;
  forEachField(
    model,
    start,
    end,
    (field, from, to) => {
      if (field === ATTR_NAME) name = text(model, from, to);
      else if (field === ATTR_G || field === ATTR_GRAPHS) walkGraph(model, from, to, found);
    },
    (field, from, to) => {
      if (field === ATTR_I) i = [from, to];
    },
  );
  if (name !== "accuracy_level" || i === undefined || i[1] - i[0] !== 1) return undefined;
  return i[0];
}

const decoder = new TextDecoder();
function text(model: Uint8Array, from: number, to: number): string {
  return decoder.decode(model.subarray(from, to));
}
