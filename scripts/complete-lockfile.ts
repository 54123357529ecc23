/**
 * Adds lockfile entries for platform-specific optional packages that this
 * workplace's npm registry mirror does not serve (it has only the linux-x64
 * builds). Without them `npm ci` (npm 11) refuses the lockfile as "out of sync",
 * although npm would skip those packages on this platform anyway. Each entry
 * carries the `os`/`cpu`/`libc` that its name states, so npm skips it without
 * trying to fetch it. Run after `npm install`: `npx tsx scripts/complete-lockfile.ts`.
 */
import { readFileSync, writeFileSync } from "node:fs";

interface LockEntry {
  version?: string;
  optional?: boolean;
  optionalDependencies?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  libc?: string[];
}

const OS = ["android", "darwin", "linux", "win32", "freebsd", "openbsd", "openharmony"];
const CPU: Record<string, string> = {
  arm64: "arm64",
  x64: "x64",
  ia32: "ia32",
  armv7: "arm",
  arm: "arm",
  loong64: "loong64",
  ppc64: "ppc64",
  riscv64: "riscv64",
  s390x: "s390x",
};

function platformOf(name: string): Pick<LockEntry, "os" | "cpu" | "libc"> {
  const parts = (name.split("/").pop() ?? name).split("-");
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.map((p) => CPU[p]).find((c) => c !== undefined);
  const libc = parts.some((p) => p.startsWith("musl"))
    ? ["musl"]
    : os === "linux" && parts.some((p) => p.startsWith("gnu"))
      ? ["glibc"]
      : undefined;
  return { ...(os && { os: [os] }), ...(cpu && { cpu: [cpu] }), ...(libc && { libc }) };
}

const path = process.argv[2] ?? "package-lock.json";
const lock = JSON.parse(readFileSync(path, "utf8")) as { packages: Record<string, LockEntry> };
const added: string[] = [];
for (const entry of Object.values(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key] !== undefined) continue;
    lock.packages[key] = { version, optional: true, ...platformOf(name) };
    added.push(`${name}@${version}`);
  }
}
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added.length} entries${added.length ? `: ${added.join(", ")}` : ""}`);
