import type { Client } from "@connectrpc/connect";
import {
  type Model,
  ModelKind,
  type ModelService,
  VersionState,
  type WatchModelsResponse,
} from "../../gen/inferd/v1/model_pb.js";
import { h } from "./dom.js";
import type { ErrorView } from "./error-view.js";

export interface ModelListOptions {
  client: Client<typeof ModelService>;
  /** The `<ul>` the models are rendered into. */
  list: HTMLElement;
  /** Says whether the list is live, reconnecting or stopped. */
  status: HTMLElement;
  errors: ErrorView;
  onSelect: (model: string) => void;
  signal: AbortSignal;
  /** Wait before re-subscribing after the stream fails. */
  retryMs?: number;
}

interface ListedModel {
  kind: ModelKind;
  versions: Map<number, VersionState>;
}

/**
 * Keeps the model list current: ListModels once, then WatchModels (with the
 * current state first) applied event by event, so states change on the page as
 * the registry changes them. When the stream breaks it shows the error and
 * starts over after `retryMs`; it stops when `signal` aborts. The model last
 * clicked stays marked `aria-current="true"` (and styled so) across updates.
 */
export async function runModelList(options: ModelListOptions): Promise<void> {
  const { client, signal } = options;
  const models = new Map<string, ListedModel>();
  let selected: string | undefined;
  const choose = (name: string) => {
    selected = name;
    markSelected(options.list, name);
    options.onSelect(name);
  };
  const render = () => renderList(options.list, models, selected, choose);
  while (!signal.aborted) {
    try {
      const { models: listed } = await client.listModels({}, { signal });
      models.clear();
      for (const model of listed) models.set(model.name, fromModel(model));
      render();
      options.errors.clear();
      options.status.textContent = "live";
      for await (const event of client.watchModels({ includeCurrent: true }, { signal })) {
        applyEvent(models, event);
        render();
      }
    } catch (error) {
      if (signal.aborted) break;
      options.errors.show(error);
    }
    options.status.textContent = "reconnecting…";
    await sleep(options.retryMs ?? 2000, signal);
  }
  options.status.textContent = "stopped";
}

function fromModel(model: Model): ListedModel {
  return {
    kind: model.kind,
    versions: new Map(model.versions.map((v) => [v.version, v.state])),
  };
}

function applyEvent(models: Map<string, ListedModel>, event: WatchModelsResponse): void {
  let model = models.get(event.model);
  if (model === undefined) {
    model = { kind: ModelKind.UNSPECIFIED, versions: new Map() };
    models.set(event.model, model);
  }
  model.versions.set(event.version, event.state);
}

const KIND_NAMES: Readonly<Record<ModelKind, string>> = {
  [ModelKind.UNSPECIFIED]: "",
  [ModelKind.PREDICT]: "predict",
  [ModelKind.GENERATE]: "generate",
};

function renderList(
  list: HTMLElement,
  models: ReadonlyMap<string, ListedModel>,
  selected: string | undefined,
  choose: (name: string) => void,
): void {
  const items = [...models].map(([name, model]) => {
    const current = name === selected ? "true" : undefined;
    const attributes = { type: "button", testid: `model-${name}`, "aria-current": current };
    const button = h("button", { ...attributes, "data-model": name }, name);
    button.addEventListener("click", () => choose(name));
    const versions = [...model.versions].map(([version, state]) => {
      const stateName = VersionState[state] ?? "UNSPECIFIED";
      const attributes = { testid: `version-${name}-${version}`, "data-state": stateName };
      return h("li", attributes, `v${version} `, h("span", { class: "state" }, stateName));
    });
    const kind = h("span", { class: "kind" }, KIND_NAMES[model.kind]);
    return h("li", {}, button, " ", kind, h("ul", { class: "versions" }, ...versions));
  });
  list.replaceChildren(...items);
}

/** Moves the mark in place, so the clicked button keeps its focus. */
function markSelected(list: HTMLElement, name: string): void {
  for (const button of list.querySelectorAll<HTMLElement>("button[data-model]")) {
    if (button.dataset.model === name) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
