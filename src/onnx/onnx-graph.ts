import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** An ONNX node as onnx-proto decodes it. */
export type OnnxNode = onnxProto.onnx.INodeProto;

/** A node of an If branch (see {@link OnnxGraph.addIf}). */
export interface BranchNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly attrs?: Record<string, number>;
}
type Model = onnxProto.onnx.ModelProto;

/** An initializer (a weight) as onnx-proto decodes it. */
export type OnnxTensor = onnxProto.onnx.ITensorProto;

/** A node to add with {@link OnnxGraph.addOp}: integer attributes only, any domain. */
export interface OpSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly attrs?: Record<string, number>;
  /** The operator set domain, e.g. "com.microsoft"; absent: the default (ai.onnx). */
  readonly domain?: string;
  /** The output's name; absent: a fresh one. */
  readonly output?: string;
  /** Further outputs, for ops with several (DynamicQuantizeLinear). */
  readonly moreOutputs?: readonly string[];
}

/** A node's integer attribute as a number (protobufjs decodes int64 as Long), if it has one. */
export function intAttribute(node: OnnxNode, name: string): number | undefined {
  const value = node.attribute?.find((a) => a.name === name)?.i;
  if (value === undefined || value === null) return undefined;
  return typeof value === "number" ? value : value.toNumber();
}

/** A node's integer-list attribute (a Transpose's `perm`, say) as numbers, if it has one. */
export function intsAttribute(node: OnnxNode, name: string): number[] | undefined {
  const values = node.attribute?.find((a) => a.name === name)?.ints;
  return values?.map((v) => (typeof v === "number" ? v : v.toNumber()));
}

/** Sets `node`'s integer attribute `name` to `value`, adding it when absent. */
export function setIntAttribute(node: OnnxNode, name: string, value: number): void {
  const type = onnx.AttributeProto.AttributeType.INT;
  const attrs = (node.attribute ?? []).filter((a) => a.name !== name);
  node.attribute = [...attrs, onnx.AttributeProto.create({ name, type, i: value })];
}

/** An int64 or int32 tensor's values as numbers (listed or raw); undefined for other types. */
function tensorInts(t: OnnxTensor): number[] | undefined {
  const { INT64, INT32 } = onnx.TensorProto.DataType;
  const width = t.dataType === INT64 ? 8 : t.dataType === INT32 ? 4 : 0;
  if (width === 0) return undefined;
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const at = (k: number) =>
      width === 8 ? Number(view.getBigInt64(k * 8, true)) : view.getInt32(k * 4, true);
    return Array.from({ length: raw.length / width }, (_, k) => at(k));
  }
  const listed = width === 8 ? (t.int64Data ?? []) : (t.int32Data ?? []);
  return listed.map((v) => (typeof v === "number" ? v : v.toNumber()));
}

/** Integer node attributes from a record. */
function intAttributes(attrs: Record<string, number>): onnxProto.onnx.IAttributeProto[] {
  const type = onnx.AttributeProto.AttributeType.INT;
  return Object.entries(attrs).map(([name, i]) => onnx.AttributeProto.create({ name, type, i }));
}

/**
 * Everything `node` reads: its inputs and, for control flow (If, Loop, Scan), the
 * outer-scope values its subgraphs use, which liveness and ordering must see too.
 */
function readsOf(node: OnnxNode): string[] {
  const reads = [...(node.input ?? [])];
  for (const attr of node.attribute ?? []) {
    for (const sub of [attr.g, ...(attr.graphs ?? [])]) {
      if (!sub) continue;
      const local = new Set([
        ...(sub.input ?? []).map((v) => v.name ?? ""),
        ...(sub.initializer ?? []).map((t) => t.name ?? ""),
        ...(sub.node ?? []).flatMap((n) => n.output ?? []),
      ]);
      for (const n of sub.node ?? []) reads.push(...readsOf(n).filter((i) => !local.has(i)));
    }
  }
  return reads;
}

/** Renames `from` to `to` in `node`'s inputs and outputs, its subgraphs included. */
function renameIn(node: OnnxNode, from: string, to: string): void {
  node.output = (node.output ?? []).map((o) => (o === from ? to : o));
  node.input = (node.input ?? []).map((i) => (i === from ? to : i));
  for (const attr of node.attribute ?? []) {
    for (const sub of [attr.g, ...(attr.graphs ?? [])]) {
      for (const n of sub?.node ?? []) renameIn(n, from, to);
    }
  }
}

/**
 * A mutable view of one ONNX model's main graph for rewrites: who produces and who
 * consumes each value, a value recomputed with others substituted, and the clean-up
 * a rewrite needs (dead nodes dropped, nodes re-sorted). Edits (adds, removals,
 * renames, rewired inputs) keep the indexes up to date; prune has them rebuilt lazily.
 */
export class OnnxGraph {
  private index: GraphIndex | null = null;
  private uid = 0;

  private constructor(private readonly model: Model) {
    this.uid = firstFreeUid(model);
  }

  /** Decodes a ModelProto; throws what protobufjs throws on bytes that are not one. */
  static decode(bytes: Uint8Array): OnnxGraph {
    return new OnnxGraph(onnx.ModelProto.decode(bytes));
  }

  private get graph(): onnxProto.onnx.IGraphProto {
    this.model.graph ??= onnx.GraphProto.create();
    return this.model.graph;
  }

  get nodes(): readonly OnnxNode[] {
    return this.graph.node ?? [];
  }

  isGraphInput(name: string): boolean {
    return (this.graph.input ?? []).some((i) => i.name === name);
  }

  isGraphOutput(name: string): boolean {
    return (this.graph.output ?? []).some((o) => o.name === name);
  }

  /**
   * The files, relative to the model's folder, that initializers keep their data in
   * (ONNX external data, e.g. `model.onnx_data`); empty when the weights are inside.
   */
  externalDataFiles(): string[] {
    const files = new Set<string>();
    for (const t of this.graph.initializer ?? []) {
      if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
      const location = t.externalData?.find((e) => e.key === "location")?.value;
      if (location) files.add(location);
    }
    return [...files];
  }

  producer(name: string): OnnxNode | undefined {
    return this.indexes().producers.get(name);
  }

  consumers(name: string): readonly OnnxNode[] {
    return this.indexes().consumers.get(name) ?? [];
  }

  /** Adds a node from `spec` (any domain); returns its output name. */
  addOp(spec: OpSpec): string {
    const name = spec.output ?? `inferd/${spec.op}_${this.uid++}`;
    const node = onnx.NodeProto.create({
      opType: spec.op,
      input: [...spec.inputs],
      output: [name, ...(spec.moreOutputs ?? [])],
      attribute: intAttributes(spec.attrs ?? {}),
      name,
    });
    if (spec.domain !== undefined) node.domain = spec.domain;
    this.push(node);
    return name;
  }

  /** The initializer named `name`, if there is one (weights are read and replaced through it). */
  initializer(name: string): OnnxTensor | undefined {
    return (this.graph.initializer ?? []).find((t) => t.name === name);
  }

  /**
   * The tensor a constant holds: an initializer's or a Constant node's; undefined for
   * anything computed at run time.
   */
  constantTensor(name: string): OnnxTensor | undefined {
    const producer = this.producer(name);
    if (producer === undefined) return this.initializer(name);
    if (producer.opType !== "Constant") return undefined;
    return producer.attribute?.find((a) => a.name === "value")?.t ?? undefined;
  }

  /** The integers a constant holds (int64 or int32, raw data included); see {@link constantTensor}. */
  constantInts(name: string): number[] | undefined {
    const tensor = this.constantTensor(name);
    return tensor ? tensorInts(tensor) : undefined;
  }

  get initializers(): readonly OnnxTensor[] {
    return this.graph.initializer ?? [];
  }

  /** The element type (ONNX TensorProto.DataType) of a graph input or output; undefined if none. */
  ioElemType(name: string): number | undefined {
    const io = [...(this.graph.input ?? []), ...(this.graph.output ?? [])];
    return io.find((v) => v.name === name)?.type?.tensorType?.elemType ?? undefined;
  }

  /** Names of the graph's inputs, then those of its outputs. */
  ioNames(): { inputs: string[]; outputs: string[] } {
    const names = (list: onnxProto.onnx.IValueInfoProto[] | null | undefined) =>
      (list ?? []).map((v) => v.name ?? "");
    return { inputs: names(this.graph.input), outputs: names(this.graph.output) };
  }

  /** Sets the element type of graph input or output `name` (its shape is kept). */
  setIoElemType(name: string, elemType: number): void {
    for (const v of [...(this.graph.input ?? []), ...(this.graph.output ?? [])]) {
      if (v.name === name && v.type?.tensorType) v.type.tensorType.elemType = elemType;
    }
  }

  /** Makes `node` read `value` as its input `k`. */
  setInput(node: OnnxNode, k: number, value: string): void {
    const old = node.input?.[k];
    node.input = (node.input ?? []).map((v, i) => (i === k ? value : v));
    if (this.index === null || old === undefined) return;
    dropOne(this.index.consumers, old, node);
    addTo(this.index.consumers, value, node);
  }

  /** Adds an initializer (a fresh name unless the tensor has one); returns its name. */
  addInitializer(tensor: OnnxTensor): string {
    const name = tensor.name || `inferd/const_${this.uid++}`;
    this.graph.initializer ??= [];
    this.graph.initializer.push(onnx.TensorProto.create({ ...tensor, name }));
    return name;
  }

  /** Declares operator set `domain` at `version` unless the model imports it already. */
  useOpset(domain: string, version: number): void {
    this.model.opsetImport ??= [];
    if (this.model.opsetImport.some((o) => (o.domain ?? "") === domain)) return;
    this.model.opsetImport.push(onnx.OperatorSetIdProto.create({ domain, version }));
  }

  /** Adds a node computing `op(inputs)`; returns its (fresh) output name unless `output` is given. */
  add(op: string, inputs: readonly string[], attrs: Record<string, number> = {}, output?: string) {
    const name = output ?? `inferd/${op}_${this.uid++}`;
    const attribute = intAttributes(attrs);
    this.push(onnx.NodeProto.create({ opType: op, input: [...inputs], output: [name], attribute }));
    return name;
  }

  /**
   * Adds `If(cond)` choosing between two branches, each a chain of nodes whose last
   * output is the branch's value (a tensor of `elemType`, float32 unless given); nodes
   * read outer values by name.
   * Returns the If's output name.
   */
  addIf(
    cond: string,
    then: readonly BranchNode[],
    otherwise: readonly BranchNode[],
    elemType: number = onnx.TensorProto.DataType.FLOAT,
  ): string {
    const name = `inferd/If_${this.uid++}`;
    const branch = (nodes: readonly BranchNode[], label: string) => {
      const built = nodes.map((n, k) =>
        onnx.NodeProto.create({
          opType: n.op,
          input: [...n.inputs],
          output: [k === nodes.length - 1 ? `${name}/${label}` : `${name}/${label}_${k}`],
          attribute: intAttributes(n.attrs ?? {}),
        }),
      );
      // Inside a branch, "$k" names the output of the branch's node k.
      for (const node of built) {
        node.input = node.input.map((i) =>
          i.startsWith("$") ? `${name}/${label}_${i.slice(1)}` : i,
        );
      }
      const type = { tensorType: { elemType } };
      const output = [onnx.ValueInfoProto.create({ name: `${name}/${label}`, type })];
      return onnx.GraphProto.create({ name: `${name}/${label}`, node: built, output });
    };
    const graphType = onnx.AttributeProto.AttributeType.GRAPH;
    const attribute = [
      onnx.AttributeProto.create({ name: "then_branch", type: graphType, g: branch(then, "then") }),
      onnx.AttributeProto.create({
        name: "else_branch",
        type: graphType,
        g: branch(otherwise, "else"),
      }),
    ];
    this.push(onnx.NodeProto.create({ opType: "If", input: [cond], output: [name], attribute }));
    return name;
  }

  /** The model's opset of the default (ai.onnx) domain. */
  opset(): number {
    const entry = (this.model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx");
    const version = entry?.version ?? 0;
    return typeof version === "number" ? version : version.toNumber();
  }

  /** Appends a node, keeping the indexes (rebuilding them per added node is quadratic). */
  private push(node: OnnxNode): void {
    this.graph.node ??= [];
    this.graph.node.push(node as onnxProto.onnx.NodeProto);
    if (this.index) indexNode(this.index, node);
  }

  /**
   * The value `value` would have if every value in `substitute` (a map from value to
   * replacement, also used as the memo) were replaced: the nodes between them are
   * copied, whatever does not depend on a substituted value is reused as it is.
   */
  recompute(value: string, substitute: Map<string, string>): string {
    const known = substitute.get(value);
    if (known !== undefined) return known;
    const node = this.producer(value);
    let result = value;
    if (node !== undefined && node.opType !== "Constant") {
      const inputs = (node.input ?? []).map((i) => (i === "" ? i : this.recompute(i, substitute)));
      if (inputs.some((input, k) => input !== node.input?.[k])) {
        const outputs = (node.output ?? []).map((o) => `${o}/inferd_${this.uid++}`);
        this.push(
          onnx.NodeProto.create({
            ...node,
            name: outputs[0] ?? null,
            input: inputs,
            output: outputs,
          }),
        );
        for (const [k, o] of (node.output ?? []).entries()) substitute.set(o, outputs[k] ?? o);
        result = substitute.get(value) ?? value;
      }
    }
    substitute.set(value, result);
    return result;
  }

  /** Adds nodes computing `Shape(value)[from:to]` (a 1-D int64 tensor); returns its name. */
  dims(value: string, from: number, to: number): string {
    const shape = this.add("Shape", [value]);
    return this.add("Slice", [shape, this.int64([from]), this.int64([to]), this.int64([0])]);
  }

  /** Adds a copy of `node` (op, domain, attributes) reading `inputs`; returns its first output. */
  addCopy(node: OnnxNode, inputs: readonly string[]): string {
    const name = `inferd/${node.opType}_${this.uid++}`;
    this.push(onnx.NodeProto.create({ ...node, name, input: [...inputs], output: [name] }));
    return name;
  }

  /** Adds an int64 initializer holding `values`; returns its name. */
  int64(values: readonly number[]): string {
    const name = `inferd/const_${this.uid++}`;
    const tensor = onnx.TensorProto.create({
      name,
      dataType: onnx.TensorProto.DataType.INT64,
      dims: [values.length],
      int64Data: [...values],
    });
    this.graph.initializer ??= [];
    this.graph.initializer.push(tensor);
    return name;
  }

  /** Adds a float32 initializer holding `values`; returns its name. */
  float32(values: readonly number[]): string {
    const name = `inferd/const_${this.uid++}`;
    const tensor = onnx.TensorProto.create({
      name,
      dataType: onnx.TensorProto.DataType.FLOAT,
      dims: values.length === 1 ? [] : [values.length],
      floatData: [...values],
    });
    this.graph.initializer ??= [];
    this.graph.initializer.push(tensor);
    return name;
  }

  remove(node: OnnxNode): void {
    this.graph.node = this.nodes.filter((n) => n !== node);
    if (this.index !== null) unindexNode(this.index, node);
  }

  /** Makes `node` produce `to` in place of `from`, and every reader of `from` read `to`. */
  renameValue(from: string, to: string): void {
    for (const n of this.nodes) renameIn(n, from, to);
    const index = this.index;
    if (index === null) return;
    const producer = index.producers.get(from);
    index.producers.delete(from);
    if (producer !== undefined) index.producers.set(to, producer);
    const readers = index.consumers.get(from) ?? [];
    index.consumers.delete(from);
    for (const reader of readers) addTo(index.consumers, to, reader);
  }

  /** Sets an output's axis to a symbolic size (a name: it varies run to run) or a fixed one. */
  setOutputDim(name: string, axis: number, dim: string | number): void {
    const dims = (this.graph.output ?? []).find((o) => o.name === name)?.type?.tensorType?.shape
      ?.dim;
    const create = onnx.TensorShapeProto.Dimension.create;
    if (dims?.[axis])
      dims[axis] = typeof dim === "string" ? create({ dimParam: dim }) : create({ dimValue: dim });
  }

  /**
   * Drops nodes and initializers no graph output depends on, orders nodes
   * topologically and serialises the model (see {@link prune}).
   */
  finish(): Uint8Array {
    this.prune();
    return onnx.ModelProto.encode(this.model).finish();
  }

  /**
   * Drops nodes and initializers no graph output depends on and orders nodes
   * topologically, without serialising: what is left in {@link initializers} is
   * what the finished model holds (a writer places those weights, inline or external).
   * @throws Error when a node still needed reads a value nothing produces (a rewrite
   *   removed something that was used elsewhere) or the nodes form a cycle.
   */
  prune(): void {
    const live = new Set<string>();
    const stack = (this.graph.output ?? []).map((o) => o.name ?? "");
    while (stack.length > 0) {
      const value = stack.pop() ?? "";
      if (live.has(value)) continue;
      live.add(value);
      const producer = this.producer(value);
      for (const i of producer ? readsOf(producer) : []) if (i) stack.push(i);
    }
    const kept = this.nodes.filter((n) => (n.output ?? []).some((o) => live.has(o)));
    this.graph.initializer = (this.graph.initializer ?? []).filter((t) => live.has(t.name ?? ""));
    const available = this.availableAtStart();
    const produced = new Set(kept.flatMap((n) => n.output ?? []));
    for (const n of kept) {
      const missing = readsOf(n).find((i) => i !== "" && !available.has(i) && !produced.has(i));
      if (missing !== undefined) throw new Error(`"${missing}" is read but no longer produced`);
    }
    this.graph.node = sortTopologically(kept, available);
    this.graph.valueInfo = [];
    this.index = null;
  }

  private availableAtStart(): Set<string> {
    const names = [...(this.graph.input ?? []), ...(this.graph.initializer ?? [])];
    return new Set(["", ...names.map((v) => v.name ?? "")]);
  }

  private indexes(): GraphIndex {
    if (this.index) return this.index;
    const index: GraphIndex = { producers: new Map(), consumers: new Map() };
    for (const node of this.nodes) indexNode(index, node);
    this.index = index;
    return index;
  }
}

/**
 * The first counter value no name this editor made (`inferd/..._N`, `.../inferd_N`)
 * already uses: a graph edited twice (quantized, then rewritten at load) must not
 * get a second value of the same name.
 */
function firstFreeUid(model: Model): number {
  let next = 0;
  const see = (name: string | null | undefined) => {
    if (!name?.includes("inferd")) return;
    for (const m of name.matchAll(/_(\d+)(?=\/|$)/g)) next = Math.max(next, Number(m[1]) + 1);
  };
  for (const t of model.graph?.initializer ?? []) see(t.name);
  for (const n of model.graph?.node ?? []) for (const o of n.output ?? []) see(o);
  return next;
}

interface GraphIndex {
  readonly producers: Map<string, OnnxNode>;
  readonly consumers: Map<string, OnnxNode[]>;
}

function indexNode(index: GraphIndex, node: OnnxNode): void {
  for (const o of node.output ?? []) index.producers.set(o, node);
  for (const i of readsOf(node)) addTo(index.consumers, i, node);
}

/**
 * Undoes {@link indexNode}. Why kept up to date rather than rebuilt: the append-KV
 * rewrite removes and renames in every layer, and rebuilding the index after each
 * (2,500 nodes at SmolLM2-135M's shape) was half of the rewrite's time at load.
 */
function unindexNode(index: GraphIndex, node: OnnxNode): void {
  for (const o of node.output ?? []) {
    if (index.producers.get(o) === node) index.producers.delete(o);
  }
  for (const i of readsOf(node)) dropOne(index.consumers, i, node);
}

function addTo(consumers: Map<string, OnnxNode[]>, value: string, node: OnnxNode): void {
  const list = consumers.get(value);
  if (list) list.push(node);
  else consumers.set(value, [node]);
}

/** Removes one of `node`'s entries under `value` (a node reading a value twice has two). */
function dropOne(consumers: Map<string, OnnxNode[]>, value: string, node: OnnxNode): void {
  const list = consumers.get(value);
  const at = list?.lastIndexOf(node) ?? -1;
  if (list === undefined || at < 0) return;
  list.splice(at, 1);
  if (list.length === 0) consumers.delete(value);
}

/** Kahn's algorithm, keeping the original order among nodes that are ready together. */
function sortTopologically(nodes: readonly OnnxNode[], available: Set<string>): OnnxNode[] {
  const waiting = new Map<OnnxNode, number>();
  const readers = new Map<string, OnnxNode[]>();
  const ready: OnnxNode[] = [];
  for (const node of nodes) {
    const missing = new Set(readsOf(node).filter((i) => !available.has(i)));
    for (const value of missing) {
      const list = readers.get(value);
      if (list) list.push(node);
      else readers.set(value, [node]);
    }
    if (missing.size === 0) ready.push(node);
    else waiting.set(node, missing.size);
  }
  const sorted: OnnxNode[] = [];
  // An index, not shift(): shifting a long array is linear, the sort would be quadratic.
  for (let k = 0; k < ready.length; k++) {
    const next = ready[k] as OnnxNode;
    sorted.push(next);
    for (const value of next.output ?? []) {
      for (const reader of readers.get(value) ?? []) {
        const left = (waiting.get(reader) ?? 1) - 1;
        waiting.set(reader, left);
        if (left === 0) ready.push(reader);
      }
      readers.delete(value);
    }
  }
  if (sorted.length !== nodes.length) throw new Error("the rewritten graph has a cycle");
  return sorted;
}
