import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Whether the TLS tests named `what` must skip: true, with a warning saying so, when
 * the `openssl` binary that makes their certificate is not installed.
 */
export function opensslMissing(what: string): boolean {
  const missing = !hasOpenssl();
  if (missing) console.warn(`skipping ${what}: the openssl binary is not installed`);
  return missing;
}

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed certificate for 127.0.0.1, as PEM bytes and as files; `remove` deletes them. */
export interface SelfSignedCert {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly certPath: string;
  readonly keyPath: string;
  remove(): void;
}

/** Writes a fresh RSA-2048 self-signed certificate for 127.0.0.1 (a day long) into a temporary folder. */
export function createSelfSignedCert(): SelfSignedCert {
  const dir = mkdtempSync(join(tmpdir(), "inferd-tls-"));
  const [certPath, keyPath] = [join(dir, "cert.pem"), join(dir, "key.pem")];
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"],
      ...["-keyout", keyPath, "-out", certPath, "-subj", "/CN=127.0.0.1"],
      ...["-addext", "subjectAltName=IP:127.0.0.1"],
    ],
    { stdio: "ignore" },
  );
  return {
    cert: readFileSync(certPath),
    key: readFileSync(keyPath),
    certPath,
    keyPath,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
