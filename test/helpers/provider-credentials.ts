import { generateKeyPairSync } from "node:crypto";

/**
 * Credentials the provider fakes expect, shared by the tests that wire real adapters to them
 * through the config file.
 */

export const PUBLIC_URL = "https://verify.example.com";

/** One RSA key for the providers that sign with one (Vonage application JWTs, Google service accounts). */
export const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
export const PRIVATE_PEM = keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();

export const META = {
  accessToken: "EAAG-test-system-user-token",
  phoneNumberId: "106540352242922",
  apiVersion: "v23.0",
  appSecret: "0f4b8c2a9d3e7f1a6b5c4d3e2f1a0b9c",
  templateName: "verifyd_otp",
  templateLanguage: "en_US",
};

export const VONAGE_APP = "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab";
export const VONAGE_SECRET = "wQ5b8mZp3XvL1tK9rN2cY7uE4hJ6sA0d";

export const RBM_AGENT = "verifyd_otp_agent";
export const RBM = { clientEmail: "verifyd-rbm@verifyd-test.iam.gserviceaccount.com", agentId: RBM_AGENT };
export const RBM_CLIENT_TOKEN = "rbm-client-token-2Yc8";
