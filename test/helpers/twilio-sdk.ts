import type { AddressInfo } from "node:net";
import twilio from "twilio";
import type RequestClient from "twilio/lib/base/RequestClient.js";
import { createServerFor } from "../../src/main.js";
import type { Harness } from "./harness.js";

/** The Account SID the SDK insists on (it only checks the `AC` prefix); verifyd echoes it back. */
export const ACCOUNT_SID = `AC${"0123456789abcdef".repeat(2)}`;

/**
 * The SDK's own HTTP client, unmodified, with Twilio's Verify host swapped for a local verifyd: the
 * `httpClient` option the SDK offers for custom transports.
 */
export class LocalVerifyClient extends twilio.RequestClient {
  constructor(private readonly base: string) {
    super();
  }
  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    return super.request({ ...opts, uri: opts.uri.replace("https://verify.twilio.com", `${this.base}/twilio`) });
  }
}

/** Listens on 127.0.0.1 with the harness's runtime, as `verifyd serve` does; returns the base URL and a closer. */
export async function listen(h: Harness): Promise<{ base: string; close: () => Promise<void> }> {
  const server = createServerFor(h.runtime, { host: "127.0.0.1", tls: undefined });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", () => resolve());
    server.once("error", reject);
    server.listen(0, "127.0.0.1");
  });
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ("closeAllConnections" in server) server.closeAllConnections();
      }),
  };
}

/** A Twilio SDK client pointed at verifyd, authenticating with a verifyd API key as the auth token. */
export const sdkClient = (base: string, key: string) => twilio(ACCOUNT_SID, key, { httpClient: new LocalVerifyClient(base) });

/** Runs a call expected to fail and returns the SDK's RestException. */
export async function restException(call: Promise<unknown>): Promise<InstanceType<typeof twilio.RestException>> {
  try {
    await call;
  } catch (err) {
    if (err instanceof twilio.RestException) return err;
    throw err;
  }
  throw new Error("the call succeeded");
}
