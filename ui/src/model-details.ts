import {
  type Model,
  ModelKind,
  type ModelVersion,
  VersionState,
} from "../../gen/inferd/v1/model_pb.js";
import type { TensorInfo } from "../../gen/inferd/v1/tensor_pb.js";
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
 * shape; -1 is a dynamic dimension) of its newest ready version.
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
  const rows = infos.map((info) =>
    h(
      "tr",
      { testid: `${testid}-${info.name}` },
      h("td", {}, info.name),
      h("td", {}, describeTensor(info.dtype, info.shape)),
    ),
  );
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
