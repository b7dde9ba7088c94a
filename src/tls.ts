import { readFileSync } from "node:fs";
import type { Server as HttpsServer } from "node:https";
import type { Config } from "./config/env.js";

type TlsFiles = NonNullable<Config["tls"]>;

/** The PEM certificate chain and key, read now (at start and on every reload). */
export function readTlsFiles(tls: TlsFiles): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) };
}

/**
 * Swaps in the certificate and key on disk (after a renewal). New TLS handshakes get them; open
 * connections keep theirs, so nothing is dropped. A bad pair throws and the old one stays in use.
 */
export function reloadTls(server: HttpsServer, tls: TlsFiles): void {
  server.setSecureContext(readTlsFiles(tls));
}
