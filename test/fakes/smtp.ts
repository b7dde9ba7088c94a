import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

/**
 * A real SMTP server (the `smtp-server` library) on 127.0.0.1, standing in for a relay: STARTTLS or
 * implicit TLS with a certificate of its own, AUTH PLAIN/LOGIN against one user, and replies chosen
 * by the recipient's local part, as a receiving server would give them:
 * `tempfail@…` 451 at RCPT, `nouser@…` 550 at RCPT, `spam@…` 554 after DATA.
 */

export interface ReceivedMail {
  /** The envelope, as the client gave it. */
  mailFrom: string;
  rcptTo: string[];
  /** Whether the session was encrypted and who authenticated. */
  secure: boolean;
  user: string | null;
  raw: string;
  parsed: ParsedMail;
}

export interface FakeSmtpOptions {
  /** TLS from the first byte (port 465 style); else plain with STARTTLS offered. */
  secure?: boolean;
  /** Do not offer STARTTLS (a relay without TLS). */
  noStartTls?: boolean;
  /** Require AUTH with these credentials; without, any client may send. */
  auth?: { user: string; pass: string };
}

export interface FakeSmtp {
  host: string;
  port: number;
  /** The server's certificate (PEM), for the client to trust. */
  ca: string;
  received: ReceivedMail[];
  close(): Promise<void>;
}

/** One self-signed certificate for 127.0.0.1 and localhost per test process (the openssl CLI). */
let certificate: { cert: string; key: string } | undefined;
function selfSigned(): { cert: string; key: string } {
  if (certificate) return certificate;
  const dir = mkdtempSync(join(tmpdir(), "verifyd-smtp-"));
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"].concat([
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ]),
      { stdio: "ignore" },
    );
    certificate = { cert: readFileSync(join(dir, "cert.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8") };
    return certificate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const refusal = (message: string, responseCode: number) => Object.assign(new Error(message), { responseCode });

export async function startFakeSmtp(options: FakeSmtpOptions = {}): Promise<FakeSmtp> {
  const { cert, key } = selfSigned();
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    secure: options.secure ?? false,
    key,
    cert,
    name: "mx.test.example",
    banner: "verifyd test relay",
    disabledCommands: options.noStartTls ? ["STARTTLS"] : [],
    authOptional: !options.auth,
    authMethods: ["PLAIN", "LOGIN"],
    size: 1_000_000,
    logger: false,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) {
        callback(null, { user: auth.username });
      } else {
        callback(new Error("Invalid username or password"));
      }
    },
    onRcptTo(address, _session, callback) {
      const local = address.address.split("@")[0];
      if (local === "tempfail") return callback(refusal("4.2.1 Mailbox busy, try again later", 451));
      if (local === "nouser") return callback(refusal(`5.1.1 <${address.address}>: Recipient address rejected`, 550));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const rcptTo = session.envelope.rcptTo.map((r) => r.address);
        if (rcptTo.some((r) => r.startsWith("spam@"))) return callback(refusal("5.7.1 Message refused as spam", 554));
        simpleParser(raw).then(
          (parsed) => {
            received.push({
              mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
              rcptTo,
              secure: session.secure,
              user: (session.user as string | undefined) ?? null,
              raw,
              parsed,
            });
            callback(null, "Message queued as 4Xq2Lk");
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    host: "127.0.0.1",
    port,
    ca: cert,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
