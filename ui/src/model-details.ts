import {
  type Model,
  ModelKind,
  type ModelVersion,
  VersionState,
} from "../../gen/inferd/v1/model_pb.js";
import type { TensorInfo } from "../../gen/inferd/v1/tensor_pb.js";
import { isKvCacheName } from "../../src/onnx/decoder-names.js";
import { h } from "./dom.js";
import { describeTensor } from "./tensor-json.js";

/** The version whose signature the page shows and prefills from: the newest ready one. */
export function primaryVersion(model: Model): ModelVersion | undefined {
  const byNewest = [...model.versions].sort((a, b) => b.version - a.version);
  return byNewest.find((v) => v.state === VersionState.READY) ?? byNewest[0];
}

/** True for decoder models served by Generate rather than Predict. */
export function isGenerative(model: Model): boolean {
  return model.kind === ModelKind.GENERATE;
}

/**
 * Shows a model's kind, versions and the inputs and outputs (name, dtype,
 * shape; -1 is a dynamic dimension) of its newest ready version; a decoder's
 * KV-cache tensors are folded into one expandable line per table.
 */
export function renderModelDetails(
  model: Model,
  parts: { name: HTMLElement; summary: HTMLElement; signature: HTMLElement },
): void {
  const version = primaryVersion(model);
  parts.name.textContent = model.name;
  const versions = model.versions.map((v) => `v${v.version} ${VersionState[v.state]}`).join(", ");
  const kind = isGenerative(model) ? "generative (Generate)" : "tensors (Predict)";
  parts.summary.textContent = `${kind}; versions: ${versions || "none"}`;
  if (model.reason) parts.summary.append(h("br"), `configuration error: ${model.reason}`);
  parts.signature.replaceChildren(
    ...(version === undefined
      ? []
      : [
          signatureTable("Inputs", "inputs", version.inputs),
          signatureTable("Outputs", "outputs", version.outputs),
        ]),
  );
}

function signatureTable(title: string, testid: string, infos: readonly TensorInfo[]): HTMLElement {
  const kvCache = infos.filter((info) => isKvCacheName(info.name));
  const rows = infos.filter((info) => !isKvCacheName(info.name)).map((i) => tensorRow(testid, i));
  if (kvCache.length > 0) rows.push(kvCacheRow(testid, kvCache));
  return h(
    "table",
    { testid },
    h("caption", {}, title),
    h(
      "thead",
      {},
      h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Type")),
    ),
    h("tbody", {}, ...rows),
  );
}

function tensorRow(testid: string, info: TensorInfo): HTMLElement {
  return h(
    "tr",
    { testid: `${testid}-${info.name}` },
    h("td", {}, info.name),
    h("td", {}, describeTensor(info.dtype, info.shape)),
  );
}

/**
 * A decoder's KV cache as one line (`past_key_values.*: 10 KV-cache tensors, float32
 * [...]`) that opens to the full list: one row per layer and kind would push the
 * prompt below the fold.
 */
function kvCacheRow(testid: string, infos: readonly TensorInfo[]): HTMLElement {
  const prefix = infos[0]?.name.split(".")[0] ?? "";
  const types = [...new Set(infos.map((info) => describeTensor(info.dtype, info.shape)))];
  const summary = `${prefix}.*: ${infos.length} KV-cache tensors, ${types.join(" or ")}`;
  const list = h("table", {}, h("tbody", {}, ...infos.map((info) => tensorRow(testid, info))));
  const details = h("details", { testid: `${testid}-kv-cache` }, h("summary", {}, summary), list);
  return h("tr", {}, h("td", { colspan: "2" }, details));
}
