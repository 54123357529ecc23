/** What a `/v2` path names: its endpoint pattern and the model and version in it. */
export interface OipTarget {
  /**
   * The endpoint pattern, the key endpoints register under and the metrics' route
   * label: "/v2/repository/index", "/v2/models/{model}[/versions/{version}]/ready",
   * "/v2/repository/models/{model}/load".
   */
  readonly route: string;
  /** The model segment, %-decoded; "" when the path names none. */
  readonly model: string;
  /** The raw `/versions/{v}` segment; undefined when absent. */
  readonly version: string | undefined;
}

/** The pattern of `/v2/models/{model}` with or without `/versions/{version}`. */
export const MODEL_ROUTE = "/v2/models/{model}[/versions/{version}]";

/**
 * Parses a `/v2` path. Model paths collapse to one pattern with and without a
 * version (one endpoint serves both, one metrics label). A literal path like
 * "/v2/models/stats" also reads as a model route: the router tries the literal first.
 */
export function parseOipPath(path: string): OipTarget {
  const parts = path.split("/").slice(1);
  if (parts[0] === "v2" && parts[1] === "models" && parts.length >= 3) {
    const rest = parts.slice(3);
    let version: string | undefined;
    if (rest[0] === "versions" && rest.length >= 2) {
      version = rest[1];
      rest.splice(0, 2);
    }
    const route = rest.length === 0 ? MODEL_ROUTE : `${MODEL_ROUTE}/${rest.join("/")}`;
    return { route, model: decoded(parts[2] ?? ""), version };
  }
  if (
    parts[0] === "v2" &&
    parts[1] === "repository" &&
    parts[2] === "models" &&
    parts.length >= 4
  ) {
    const action = parts.slice(4).join("/");
    return {
      route: `/v2/repository/models/{model}${action === "" ? "" : `/${action}`}`,
      model: decoded(parts[3] ?? ""),
      version: undefined,
    };
  }
  return {
    route: path.length > 3 && path.endsWith("/") ? path.slice(0, -1) : path,
    model: "",
    version: undefined,
  };
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // a malformed %-escape names no model: answered not_found later
  }
}
