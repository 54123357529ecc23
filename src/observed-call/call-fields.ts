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

/**
 * Reads `model`, `version` (0 means "not chosen") and `request_id` from a
 * protobuf-es message, also from a nested `request` (PredictStreamRequest). For a
 * batch (`requests`), `model` lists the distinct model names, comma-separated.
 */
export function fieldsOfMessage(message: unknown): CallFields {
  if (!isObject(message)) return {};
  const inner = isObject(message.request) ? fieldsOfMessage(message.request) : {};
  const fields: CallFields = { ...inner };
  const model = nonEmpty(message.model) ?? batchModels(message.requests);
  if (model !== undefined) fields.model = model;
  if (typeof message.version === "number" && message.version > 0) fields.version = message.version;
  const requestId = nonEmpty(message.requestId);
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
