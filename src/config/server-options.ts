/** How a flag's text is read: one value, or a repeatable list (comma-separated in env). */
export type OptionType = "string" | "integer" | "number" | "boolean" | "list";

/** Every setting of the server, after flags, env and defaults are merged. */
export interface ServerConfig {
  port: number;
  host: string;
  modelRepository: string;
  /** Serve the repository as this one model (KServe's single-model `/mnt/models`). */
  modelName?: string;
  modelControlMode: "none" | "poll" | "explicit";
  /** Seconds between repository rescans in poll mode. */
  pollInterval: number;
  loadModel: string[];
  /** Follow symlinks (models, versions) that resolve outside the model repository. */
  allowSymlinksOutsideRepository: boolean;
  /** Load every model as the server would, then exit (0: all ready) instead of serving. */
  exitWhenReady: boolean;
  maxRequestBytes: number;
  /** Items one BatchPredict may carry; more are refused whole (invalid_argument). */
  maxBatchPredictItems: number;
  requestTimeoutMs: number;
  /** A generation stream whose client left its buffer full this long is cancelled; 0: never. */
  streamStallTimeoutMs: number;
  /** A request body (or HTTP/1.1 request head) not complete within this time is answered 408; 0: never. */
  bodyTimeoutMs: number;
  gracePeriodMs: number;
  /** Streams (calls) one HTTP/2 connection may have open at once; more are refused. */
  maxConcurrentStreams: number;
  /** HTTP/2 keepalive: quiet time before a PING (0: never), then how long for its ack. */
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  tlsCert?: string;
  tlsKey?: string;
  corsOrigin: string[];
  /** Keys that RPCs and /v1 routes require as `Authorization: Bearer <key>`; empty: open. */
  apiKey: string[];
  /** A YAML or JSON file of named keys (SHA-256 hashes) with scopes and limits; reloaded on change. */
  apiKeysFile?: string;
  /** The playground's folder; unset: the bundled ui/dist; "": no playground. */
  uiDir?: string;
  logLevel: string;
}

/** A parsed option's value: lists are comma-separated on the command line and in env. */
export type OptionValue = string | number | boolean | string[];

/** One row of the table: everything `--help`, env parsing and the README need. */
export interface ServerOptionSpec {
  readonly key: keyof ServerConfig;
  /** Long flag without dashes, e.g. "model-repository". */
  readonly flag: string;
  readonly env: string;
  readonly type: OptionType;
  /** Allowed values, for enumerations. */
  readonly choices?: readonly string[];
  /** Absent: the setting is unset unless given. */
  readonly default?: OptionValue;
  /** A list that, when given at all, must hold a value ("" is refused, not taken as none). */
  readonly nonEmpty?: boolean;
  /** Range of an integer or number setting (default: >= 0, no upper bound). */
  readonly min?: number;
  readonly max?: number;
  readonly description: string;
}

const MiB = 1024 * 1024;

/**
 * THE table of server settings. The CLI, `--help`, env parsing and the README
 * configuration table are all generated from it, so a new flag is one new row
 * (plus its field in {@link ServerConfig}). Precedence: flag, then env, then default.
 */
export const SERVER_OPTIONS: readonly ServerOptionSpec[] = [
  {
    key: "port",
    flag: "port",
    env: "INFERD_PORT",
    type: "integer",
    default: 8080,
    max: 65535,
    description: "TCP port for gRPC, gRPC-Web, Connect and HTTP; 0 picks a free port",
  },
  {
    key: "host",
    flag: "host",
    env: "INFERD_HOST",
    type: "string",
    default: "0.0.0.0",
    description: "Address to listen on",
  },
  {
    key: "modelRepository",
    flag: "model-repository",
    env: "INFERD_MODEL_REPOSITORY",
    type: "string",
    default: "models",
    description: "Folder holding `<model>/<version>/model.onnx` and `model.json`",
  },
  {
    key: "modelName",
    flag: "model-name",
    env: "INFERD_MODEL_NAME",
    type: "string",
    description:
      "Serve `--model-repository` as ONE model of this name, as KServe mounts it: `model.onnx` at its top (version 1) or version folders `1/model.onnx`...; `model.json` beside them is optional. Unset: a repository with `model.onnx` at its top is served as one model named after its folder",
  },
  {
    key: "modelControlMode",
    flag: "model-control-mode",
    env: "INFERD_MODEL_CONTROL_MODE",
    type: "string",
    choices: ["none", "poll", "explicit"],
    default: "none",
    description:
      "none: load everything at start; poll: also follow the folder; explicit: load via ModelService",
  },
  {
    key: "pollInterval",
    flag: "poll-interval",
    env: "INFERD_POLL_INTERVAL",
    type: "number",
    default: 5,
    min: 0.05,
    // What a Node timer holds (~24.8 days); a longer wait would fire after 1 ms.
    max: 2_147_483,
    description: "Seconds between repository rescans in poll mode",
  },
  {
    key: "loadModel",
    flag: "load-model",
    env: "INFERD_LOAD_MODEL",
    type: "list",
    default: [],
    description: "Model to load at start in explicit mode; repeatable (env: comma-separated)",
  },
  {
    key: "allowSymlinksOutsideRepository",
    flag: "allow-symlinks-outside-repository",
    env: "INFERD_ALLOW_SYMLINKS_OUTSIDE_REPOSITORY",
    type: "boolean",
    default: false,
    description:
      "Follow model and version symlinks that resolve outside the model repository (inside it they are always followed)",
  },
  {
    key: "exitWhenReady",
    flag: "exit-when-ready",
    env: "INFERD_EXIT_WHEN_READY",
    type: "boolean",
    default: false,
    description:
      "Load every model as the server would, then exit instead of serving: status 0 when all are ready, 1 naming those that failed; run at image build time, it leaves each generative model's checked KV-cache rewrite cached beside it, so that the server's first start opens one session",
  },
  {
    key: "maxRequestBytes",
    flag: "max-request-bytes",
    env: "INFERD_MAX_REQUEST_BYTES",
    type: "integer",
    default: 16 * MiB,
    min: 1,
    description: "Largest request message accepted; larger ones fail ResourceExhausted",
  },
  {
    key: "maxBatchPredictItems",
    flag: "max-batch-predict-items",
    env: "INFERD_MAX_BATCH_PREDICT_ITEMS",
    type: "integer",
    // A call's message is decoded and its answer encoded in one synchronous piece each
    // (protobuf-es has no streaming codec): at 256 one-row items each stays ~10 ms of the
    // event loop; 1,024 items took ~90 ms to encode on a loaded 2-core machine.
    default: 256,
    min: 1,
    description:
      "Most items one BatchPredict may carry; a larger one fails InvalidArgument naming this flag (split it, or use PredictStream)",
  },
  {
    key: "requestTimeoutMs",
    flag: "request-timeout-ms",
    env: "INFERD_REQUEST_TIMEOUT_MS",
    type: "integer",
    default: 0,
    max: 2 ** 31 - 1,
    description:
      "Deadline for Predict, BatchPredict and PredictStream requests that set none, in milliseconds; 0 means none (generation runs to its own limits)",
  },
  {
    key: "streamStallTimeoutMs",
    flag: "stream-stall-timeout-ms",
    env: "INFERD_STREAM_STALL_TIMEOUT_MS",
    type: "integer",
    default: 30000,
    max: 2 ** 31 - 1,
    description:
      "A Generate or /v1 stream whose client reads nothing while 64 tokens wait is paused; unread this long after, it is cancelled and its buffer dropped: the HTTP/2 stream is reset with ENHANCE_YOUR_CALM (gRPC and Connect clients read ResourceExhausted), an HTTP/1.1 connection closed, so its lease and stream are let go at once (also /v2 generate_stream); 0 means never",
  },
  {
    key: "bodyTimeoutMs",
    flag: "body-timeout-ms",
    env: "INFERD_BODY_TIMEOUT_MS",
    type: "integer",
    default: 30000,
    max: 2 ** 31 - 1,
    description:
      "A request whose body (HTTP/1.1: head and body) has not fully arrived this long after it started is answered 408 (HTTP/1.1) or reset CANCEL (HTTP/2); 0 means never. An HTTP/1.1 head, plain or over TLS, is due within this or 60 s, whichever is less (0 included), from the connection or its last response",
  },
  {
    key: "gracePeriodMs",
    flag: "grace-period-ms",
    env: "INFERD_GRACE_PERIOD_MS",
    type: "integer",
    default: 30000,
    max: 2 ** 31 - 1,
    description: "On SIGTERM, how long in-flight calls may finish before they are cut off",
  },
  {
    key: "maxConcurrentStreams",
    flag: "max-concurrent-streams",
    env: "INFERD_MAX_CONCURRENT_STREAMS",
    type: "integer",
    default: 1000,
    min: 1,
    max: 2 ** 32 - 1,
    description:
      "Calls one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); clients queue the rest",
  },
  {
    key: "keepaliveTimeMs",
    flag: "keepalive-time-ms",
    env: "INFERD_KEEPALIVE_TIME_MS",
    type: "integer",
    default: 60000,
    max: 2 ** 31 - 1,
    description:
      "An HTTP/2 connection without stream activity this long is sent a PING, again at each such spell (gRPC's keepalive time); 0 never pings",
  },
  {
    key: "keepaliveTimeoutMs",
    flag: "keepalive-timeout-ms",
    env: "INFERD_KEEPALIVE_TIMEOUT_MS",
    type: "integer",
    default: 20000,
    min: 1,
    max: 2 ** 31 - 1,
    description:
      "A keepalive PING not acknowledged within this time closes the connection (the peer or the session is gone)",
  },
  {
    key: "tlsCert",
    flag: "tls-cert",
    env: "INFERD_TLS_CERT",
    type: "string",
    description: "PEM certificate file; with --tls-key serves TLS (h2 and HTTP/1.1 via ALPN)",
  },
  {
    key: "tlsKey",
    flag: "tls-key",
    env: "INFERD_TLS_KEY",
    type: "string",
    description: "PEM private key file for --tls-cert",
  },
  {
    key: "corsOrigin",
    flag: "cors-origin",
    env: "INFERD_CORS_ORIGIN",
    type: "list",
    default: [],
    description: "Browser origin allowed by CORS; repeatable; `*` allows any",
  },
  {
    key: "apiKey",
    flag: "api-key",
    env: "INFERD_API_KEY",
    type: "list",
    nonEmpty: true,
    default: [],
    description:
      "Require `Authorization: Bearer <key>` on every RPC and `/v1` route (Unauthenticated / 401 without); repeatable for rotation; health, reflection, `/healthz`, `/readyz` and `/metrics` stay open. Prefer the env variable: flags show in `ps`",
  },
  {
    key: "apiKeysFile",
    flag: "api-keys-file",
    env: "INFERD_API_KEYS_FILE",
    type: "string",
    description:
      "YAML or JSON file of named keys (their SHA-256, never the key), each with scopes (`infer`, `read`, `admin`) and optional rate limits; re-read when it changes (an invalid file keeps the old keys); combines with `--api-key`",
  },
  {
    key: "uiDir",
    flag: "ui-dir",
    env: "INFERD_UI_DIR",
    type: "string",
    description:
      "Folder of the browser playground served at `/ui/`; unset: the bundled `ui/dist`; empty: no playground",
  },
  {
    key: "logLevel",
    flag: "log-level",
    env: "INFERD_LOG_LEVEL",
    type: "string",
    choices: ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
    default: "info",
    description: "Log level",
  },
];
