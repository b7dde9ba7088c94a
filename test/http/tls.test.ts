import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/env.js";
import { ConfigError } from "../../src/config/errors.js";
import { type RunningServer, startServer } from "../../src/main.js";
import { createLogger } from "../../src/observability/logger.js";
import { ADMIN_KEY, TEST_SECRET } from "../helpers/harness.js";

/** A fresh self-signed certificate for 127.0.0.1 (the openssl CLI), as PEM strings. */
function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"].concat([
      "-subj",
      `/CN=${name}`,
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ]),
    { stdio: "ignore" },
  );
  return { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") };
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

/** GET /healthz over HTTPS trusting `ca`; returns the served certificate's fingerprint and the client port. */
function get(port: number, ca: string[], agent?: Agent): Promise<{ status: number; fingerprint: string; localPort: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/healthz", ca, agent: agent ?? false }, (res) => {
      const socket = res.socket as TLSSocket;
      const served = {
        status: res.statusCode ?? 0,
        fingerprint: socket.getPeerCertificate().fingerprint256,
        localPort: socket.localPort ?? 0,
      };
      res.resume();
      res.on("end", () => resolve(served));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("HTTPS", () => {
  let dir: string;
  let server: RunningServer | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-tls-"));
  });
  afterEach(async () => {
    await server?.shutdown("test over");
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({
    PORT: "0",
    VERIFYD_HOST: "127.0.0.1",
    VERIFYD_DB: join(dir, "verifyd.db"),
    VERIFYD_SECRET: TEST_SECRET,
    VERIFYD_ADMIN_KEY: ADMIN_KEY,
    VERIFYD_TLS_CERT_FILE: join(dir, "served.crt"),
    VERIFYD_TLS_KEY_FILE: join(dir, "served.key"),
  });
  const install = (pair: { cert: string; key: string }) => {
    writeFileSync(join(dir, "served.crt"), pair.cert);
    writeFileSync(join(dir, "served.key"), pair.key);
  };

  it("serves the configured certificate and swaps in a renewed one on reload, keeping open connections", async () => {
    const first = selfSigned(dir, "first");
    const second = selfSigned(dir, "second");
    install(first);
    server = await startServer(loadConfig(env()), { logger: createLogger("silent") });
    const trust = [first.cert, second.cert];

    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await get(server.port, trust, keepAlive);
    expect(before).toMatchObject({ status: 200, fingerprint: fingerprint(first.cert) });

    install(second);
    server.reloadTls();

    const fresh = await get(server.port, trust);
    expect(fresh).toMatchObject({ status: 200, fingerprint: fingerprint(second.cert) });
    // The connection opened before the reload is still served (same client socket, old certificate).
    const reused = await get(server.port, trust, keepAlive);
    expect(reused).toMatchObject({ status: 200, fingerprint: fingerprint(first.cert), localPort: before.localPort });
    keepAlive.destroy();
  });

  it("keeps serving the current certificate when the new files are unusable", async () => {
    const first = selfSigned(dir, "first");
    install(first);
    server = await startServer(loadConfig(env()), { logger: createLogger("silent") });
    writeFileSync(join(dir, "served.key"), "not a key");
    expect(() => server?.reloadTls()).toThrow();
    expect(await get(server.port, [first.cert])).toMatchObject({ status: 200, fingerprint: fingerprint(first.cert) });
  });

  it("needs both the certificate and the key", () => {
    const { VERIFYD_TLS_KEY_FILE: _key, ...certOnly } = env();
    expect(() => loadConfig(certOnly)).toThrow(ConfigError);
    expect(() => loadConfig(certOnly)).toThrow(/VERIFYD_TLS_CERT_FILE and VERIFYD_TLS_KEY_FILE/);
    const { VERIFYD_TLS_CERT_FILE: _cert, ...keyOnly } = env();
    expect(() => loadConfig(keyOnly)).toThrow(ConfigError);
    expect(loadConfig({ ...keyOnly, VERIFYD_TLS_KEY_FILE: "" }).tls).toBeUndefined();
  });
});
