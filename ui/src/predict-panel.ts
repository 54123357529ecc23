import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { InferenceService, PredictResponse } from "../../gen/inferd/v1/inference_pb.js";
import { type Model, VersionState } from "../../gen/inferd/v1/model_pb.js";
import { byId, h } from "./dom.js";
import { createErrorView } from "./error-view.js";
import { primaryVersion } from "./model-details.js";
import { describeTensor, inputTemplate, parseInputs, tensorValues } from "./tensor-json.js";

/** The Predict form: version choice, JSON tensor editor, outputs and top-k labels. */
export interface PredictPanel {
  /** Points the form at a model and refills the editor from its newest ready version. */
  show(model: Model): void;
}

export function createPredictPanel(client: Client<typeof InferenceService>): PredictPanel {
  const editor = byId("tensor-editor", HTMLTextAreaElement);
  const versionSelect = byId("predict-version", HTMLSelectElement);
  const topK = byId("top-k", HTMLInputElement);
  const button = byId("predict-button", HTMLButtonElement);
  const result = byId("predict-result", HTMLElement);
  const errors = createErrorView(byId("predict-error", HTMLElement));
  let model = "";
  button.addEventListener("click", async () => {
    errors.clear();
    result.replaceChildren();
    button.disabled = true;
    try {
      const inputs = parseEditor(editor.value);
      const request = { model, version: Number(versionSelect.value), topK: Number(topK.value) };
      renderResponse(result, await client.predict({ ...request, inputs }));
    } catch (error) {
      errors.show(error);
    } finally {
      button.disabled = false;
    }
  });
  return {
    show(next) {
      model = next.name;
      errors.clear();
      result.replaceChildren();
      const ready = next.versions.filter((v) => v.state === VersionState.READY);
      versionSelect.replaceChildren(
        h("option", { value: "0" }, "routing policy"),
        ...ready.map((v) => h("option", { value: String(v.version) }, `v${v.version}`)),
      );
      editor.value = inputTemplate(primaryVersion(next)?.inputs ?? []);
    },
  };
}

/** Editor mistakes read as InvalidArgument, like the server's own validation errors. */
function parseEditor(text: string): ReturnType<typeof parseInputs> {
  try {
    return parseInputs(text);
  } catch (error) {
    throw ConnectError.from(error, Code.InvalidArgument);
  }
}

function renderResponse(result: HTMLElement, response: PredictResponse): void {
  const outputs = Object.entries(response.outputs).map(([name, tensor]) =>
    h(
      "div",
      { class: "output" },
      h("h3", {}, `${name} `, h("small", {}, describeTensor(tensor.dtype, tensor.shape))),
      h("pre", { testid: `output-${name}` }, JSON.stringify(tensorValues(tensor))),
    ),
  );
  const rows = response.classifications.map((row, i) =>
    h(
      "ol",
      { testid: "top-k", "aria-label": `Top classes of row ${i}` },
      ...row.top.map((s) =>
        h(
          "li",
          { testid: "top-label", "data-label": s.label },
          h("span", {}, s.label),
          " ",
          h("meter", { min: "0", max: "1", value: String(s.score) }),
          ` ${(s.score * 100).toFixed(2)}%`,
        ),
      ),
    ),
  );
  const served = h("p", { testid: "served-version" }, `served by v${response.version}`);
  result.replaceChildren(served, ...rows, ...outputs);
}
