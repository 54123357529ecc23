import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { z } from "zod";

export const REPO_ROOT: string = resolve(fileURLToPath(import.meta.url), "../../..");
export const KUBE_DIR: string = join(REPO_ROOT, "deploy/kubernetes");
export const KSERVE_DIR: string = join(REPO_ROOT, "deploy/kserve");

const httpGet = z.object({ path: z.string(), port: z.number() });
const probe = z.object({
  httpGet: httpGet.optional(),
  grpc: z.object({ port: z.number() }).optional(),
});

/** The fields of the Deployment the checks rely on; parse fails if one is missing. */
export const DeploymentSchema = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z.object({
    replicas: z.number(),
    selector: z.object({ matchLabels: z.record(z.string(), z.string()) }),
    template: z.object({
      metadata: z.object({ labels: z.record(z.string(), z.string()) }),
      spec: z.object({
        terminationGracePeriodSeconds: z.number(),
        securityContext: z.object({ runAsNonRoot: z.literal(true), runAsUser: z.number() }),
        containers: z.array(
          z.object({
            args: z.array(z.string()),
            ports: z.array(z.object({ containerPort: z.number() })),
            readinessProbe: probe,
            livenessProbe: probe,
            lifecycle: z.object({
              preStop: z.object({ exec: z.object({ command: z.array(z.string()) }) }),
            }),
            resources: z.object({ requests: z.object({ cpu: z.string(), memory: z.string() }) }),
            volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string() })),
          }),
        ),
      }),
    }),
  }),
});

/** Every document of every file `kustomization.yaml` lists, keyed by kind. */
export function loadKustomization(): Map<string, unknown> {
  const kustomization = z
    .object({ resources: z.array(z.string()) })
    .parse(readYaml(join(KUBE_DIR, "kustomization.yaml"))[0]);
  const byKind = new Map<string, unknown>();
  for (const file of kustomization.resources) {
    for (const doc of readYaml(join(KUBE_DIR, file))) {
      const { kind } = z.object({ kind: z.string() }).parse(doc);
      byKind.set(kind, doc);
    }
  }
  return byKind;
}

/** Every YAML document of `path`, as plain values; throws on a syntax error. */
export function readYaml(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, "utf8")).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message}`);
    return doc.toJS() as unknown;
  });
}

/** `--flag=value` and `--flag value` arguments as flag -> value ("" for a bare flag). */
export function parseCliArgs(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (!arg.startsWith("--")) throw new Error(`unexpected positional argument ${arg}`);
    const eq = arg.indexOf("=");
    if (eq !== -1) out.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (args[i + 1]?.startsWith("--") === false) out.set(arg.slice(2), args[++i] ?? "");
    else out.set(arg.slice(2), "");
  }
  return out;
}

/** The final stage's instructions (after the last FROM), line continuations joined. */
export function runtimeStageInstructions(): { keyword: string; rest: string }[] {
  const text = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8").replace(/\\\n\s*/g, " ");
  const lines = text.split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
  const instructions = lines.map((l) => {
    const [keyword = "", ...rest] = l.trim().split(/\s+/);
    return { keyword: keyword.toUpperCase(), rest: rest.join(" ") };
  });
  const lastFrom = instructions.map((i) => i.keyword).lastIndexOf("FROM");
  return instructions.slice(lastFrom);
}

const httpProbe = z.object({ httpGet: z.object({ path: z.string(), port: z.number() }) });

/** The fields of the inferd ClusterServingRuntime the checks rely on. */
export const ServingRuntimeSchema = z.object({
  kind: z.literal("ClusterServingRuntime"),
  metadata: z.object({ name: z.string() }),
  spec: z.object({
    annotations: z.record(z.string(), z.string()),
    supportedModelFormats: z.array(
      z.object({ name: z.string(), version: z.string(), autoSelect: z.boolean() }),
    ),
    protocolVersions: z.array(z.string()),
    containers: z.array(
      z.object({
        name: z.string(),
        args: z.array(z.string()),
        ports: z.array(
          z.object({ name: z.string(), containerPort: z.number(), protocol: z.string() }),
        ),
        readinessProbe: httpProbe,
        livenessProbe: httpProbe,
      }),
    ),
  }),
});

/** The fields of the example InferenceService the checks rely on. */
export const InferenceServiceSchema = z.object({
  kind: z.literal("InferenceService"),
  metadata: z.object({ name: z.string() }),
  spec: z.object({
    predictor: z.object({
      model: z.object({
        modelFormat: z.object({ name: z.string() }),
        runtime: z.string(),
        protocolVersion: z.string(),
        storageUri: z.string(),
        readinessProbe: httpProbe,
        livenessProbe: httpProbe,
      }),
    }),
  }),
});
