import { apiBaseUrl, createPlaygroundClients } from "./clients.js";
import { byId } from "./dom.js";
import { createErrorView } from "./error-view.js";
import { createGeneratePanel } from "./generate-panel.js";
import { isGenerative, renderModelDetails } from "./model-details.js";
import { runModelList } from "./model-list.js";
import { createPredictPanel } from "./predict-panel.js";

/**
 * The playground: the live model list on the left (on top on a narrow screen) and
 * a hint beside it; selecting a model replaces the hint with its signature and
 * either the Predict form or, for generative models, the Generate form. Everything goes through Connect-Web clients of the inferd API.
 */
function start(): void {
  const baseUrl = apiBaseUrl(window.location);
  byId("api-base", HTMLElement).textContent = baseUrl;
  // The key belongs to the server it was typed for: a link whose ?api= names another
  // server must not make the page send it there.
  const keyItem = `${API_KEY_ITEM}:${new URL(baseUrl).origin}`;
  const clients = createPlaygroundClients(baseUrl, () => sessionStorage.getItem(keyItem));
  keepApiKey(byId("api-key-form", HTMLFormElement), byId("api-key", HTMLInputElement), keyItem);
  const modelErrors = createErrorView(byId("models-error", HTMLElement));
  const hint = byId("hint", HTMLElement);
  const details = byId("model-details", HTMLElement);
  const predictSection = byId("predict-panel", HTMLElement);
  const generateSection = byId("generate-panel", HTMLElement);
  const predict = createPredictPanel(clients.inference);
  const generate = createGeneratePanel(clients.generation);
  const parts = {
    name: byId("model-name", HTMLElement),
    summary: byId("model-summary", HTMLElement),
    signature: byId("model-signature", HTMLElement),
  };
  const select = async (name: string) => {
    try {
      const { model } = await clients.models.getModel({ name });
      if (model === undefined) return;
      modelErrors.clear();
      renderModelDetails(model, parts);
      hint.hidden = true;
      details.hidden = false;
      predictSection.hidden = isGenerative(model);
      generateSection.hidden = !isGenerative(model);
      if (isGenerative(model)) generate.show(model);
      else predict.show(model);
    } catch (error) {
      modelErrors.show(error);
    }
  };
  void runModelList({
    client: clients.models,
    list: byId("model-list", HTMLElement),
    status: byId("watch-status", HTMLElement),
    errors: modelErrors,
    onSelect: (name) => void select(name),
    signal: new AbortController().signal,
  });
}

/** Where keys live, per server origin: this tab only, gone when it closes, never in the URL. */
const API_KEY_ITEM = "inferd-api-key";

/** The key form: submitting stores the key and reloads, so that every stream restarts with it. */
function keepApiKey(form: HTMLFormElement, input: HTMLInputElement, item: string): void {
  input.value = sessionStorage.getItem(item) ?? "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value === "") sessionStorage.removeItem(item);
    else sessionStorage.setItem(item, input.value);
    window.location.reload();
  });
}

start();
