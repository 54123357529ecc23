/**
 * The identifying fields of a call that are safe to log: names and numbers, never
 * tensors or prompts.
 */
export interface CallFields {
  model?: string;
  version?: number;
  requestId?: string;
}

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields => typeof value === "object" && value !== null;
const nonEmpty = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;

/** A version number: inferd's (a number, 0 "not chosen") or the OIP's (a decimal string, "" none). */
function versionOf(value: unknown): number | undefined {
  if (typeof value === "number" && value > 0) return value;
  if (typeof value === "string" && /^[1-9][0-9]{0,14}$/.test(value)) return Number(value);
  return undefined;
}

/**
 * Reads `model`, `version` (0 means "not chosen") and `request_id` from a
 * protobuf-es message, also from a nested `request` (PredictStreamRequest) or
 * `inferResponse` (ModelStreamInferResponse). For a batch (`requests`), `model`
 * lists the distinct model names, comma-separated. The Open Inference Protocol's
 * messages name them `model_name`, `model_version` (a string) and `id`.
 */
export function fieldsOfMessage(message: unknown): CallFields {
  if (!isObject(message)) return {};
  const nested = message.request ?? message.inferResponse;
  const fields: CallFields = isObject(nested) ? fieldsOfMessage(nested) : {};
  const model =
    nonEmpty(message.model) ?? nonEmpty(message.modelName) ?? batchModels(message.requests);
  if (model !== undefined) fields.model = model;
  const version = versionOf(message.version) ?? versionOf(message.modelVersion);
  if (version !== undefined) fields.version = version;
  const requestId = nonEmpty(message.requestId) ?? nonEmpty(message.id);
  if (requestId !== undefined) fields.requestId = requestId;
  return fields;
}

function batchModels(requests: unknown): string | undefined {
  if (!Array.isArray(requests)) return undefined;
  const names = new Set<string>();
  for (const item of requests) {
    const name = isObject(item) ? nonEmpty(item.model) : undefined;
    if (name !== undefined) names.add(name);
  }
  return names.size > 0 ? [...names].join(",") : undefined;
}

/** Copies into `target` the fields it does not have yet (first message wins). */
export function mergeMissing(target: CallFields, source: CallFields): void {
  if (target.model === undefined && source.model !== undefined) target.model = source.model;
  if (target.version === undefined && source.version !== undefined) target.version = source.version;
  if (target.requestId === undefined && source.requestId !== undefined) {
    target.requestId = source.requestId;
  }
}
