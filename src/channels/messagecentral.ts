import { parsePhoneNumber } from "libphonenumber-js";
import { z } from "zod";
import type { Channel } from "../core/model.js";
import type { Clock } from "../core/ports.js";
import type { DelegatedCheckResult, DelegatedVerifier, ProviderError, Sender, SendResult } from "../core/sender.js";
import { type ApiResult, createMessageCentralClient, type Envelope } from "./messagecentral-auth.js";

/**
 * Message Central (cpaas.messagecentral.com), two ways:
 * - a `Sender` for verifyd's own code, through the custom-SMS form of the send API (our text, our code);
 * - a `DelegatedVerifier` through VerifyNow, where Message Central generates, sends and checks the code
 *   and verifyd only keeps the `verificationId`.
 * Message Central documents no status webhook, so neither has `handleWebhook`.
 */

export const messageCentralConfigSchema = z.strictObject({
  /** "C-…" from the Message Central console. */
  customerId: z.string().min(1),
  /** The account password (base64-encoded by the adapter for the token request). */
  password: z.string().min(1),
  /** Optional on the token request. */
  email: z.email().optional(),
  /** The account's country calling code, sent to the token endpoint as `country`. */
  country: z
    .string()
    .regex(/^\d{1,4}$/)
    .default("91"),
  /** Approved sender id for the custom-SMS sender (DLT-registered in India). */
  senderId: z.string().min(1).optional(),
  /** Length of the codes VerifyNow generates for the delegated verifier. */
  otpLength: z.number().int().min(4).max(8).default(6),
  baseUrl: z.url().default("https://cpaas.messagecentral.com"),
  timeoutMs: z.number().int().positive().default(5000),
  /** Upper bound on caching an authToken (its own JWT expiry, when shorter, wins). */
  tokenTtlMs: z.number().int().positive().default(86_400_000),
});

export type MessageCentralConfig = z.output<typeof messageCentralConfigSchema>;

export interface MessageCentralDeps {
  clock: Clock;
  publicUrl?: string;
  name?: string;
}

const SEND_PATH = "/verification/v3/send";
const VALIDATE_PATH = "/verification/v3/validateOtp";

type SendClass = "retry" | "rejected" | "misconfigured";
type CheckClass = "wrong_code" | "expired" | "error" | "retryable_error";

/** Section 4.5's `responseCode` table: what each means for a send and for a check. */
const RESPONSE_CODES: Record<number, { name: string; send: SendClass; check: CheckClass }> = {
  400: { name: "BAD_REQUEST", send: "rejected", check: "error" },
  409: { name: "DUPLICATE_RESOURCE", send: "rejected", check: "error" },
  500: { name: "SERVER_ERROR", send: "retry", check: "retryable_error" },
  501: { name: "INVALID_CUSTOMER_ID", send: "misconfigured", check: "error" },
  // On a check, Message Central no longer knows the verification: the user needs a new code.
  505: { name: "INVALID_VERIFICATION_ID", send: "rejected", check: "expired" },
  // A code is already pending for the number: retry once data.timeout has passed.
  506: { name: "REQUEST_ALREADY_EXISTS", send: "retry", check: "error" },
  511: { name: "INVALID_COUNTRY_CODE", send: "rejected", check: "error" },
  700: { name: "VERIFICATION_FAILED", send: "rejected", check: "expired" },
  702: { name: "WRONG_OTP_PROVIDED", send: "rejected", check: "wrong_code" },
  // Already used: approving again would turn a replayed code into a second success.
  703: { name: "ALREADY_VERIFIED", send: "rejected", check: "expired" },
  705: { name: "VERIFICATION_EXPIRED", send: "rejected", check: "expired" },
  // Per-number limit (sends or attempts): permanent for this number and verification.
  800: { name: "MAXIMUM_LIMIT_REACHED", send: "rejected", check: "expired" },
};

const FLOW_TYPES: Partial<Record<Channel, string>> = { sms: "SMS", whatsapp: "WHATSAPP" };

/** The API takes the country calling code and the national number separately. */
function splitNumber(to: string): { countryCode: string; mobileNumber: string } | null {
  try {
    const parsed = parsePhoneNumber(to);
    return { countryCode: parsed.countryCallingCode, mobileNumber: parsed.nationalNumber };
  } catch {
    return null;
  }
}

function text(value: unknown): string | null {
  if (typeof value === "string" && value !== "") return value;
  return typeof value === "number" ? String(value) : null;
}

/** The provider's error for logs and delivery records, with the code scrubbed should it echo it. */
function providerError(status: number, envelope: Envelope, secret: string): ProviderError {
  const code = envelope.responseCode === null ? `http_${status}` : String(envelope.responseCode);
  const known = envelope.responseCode === null ? undefined : RESPONSE_CODES[envelope.responseCode]?.name;
  const message = (known ?? envelope.message).slice(0, 200);
  return { code, message: secret ? message.replaceAll(secret, "***") : message };
}

/** Codes outside the table fall back on the HTTP status, like any other HTTP API. */
function classifyUnknown(status: number): SendClass {
  if (status >= 500 || status === 429) return "retry";
  // A redirect means the base URL is wrong (callProvider never follows it).
  if (status >= 300 && status < 400) return "misconfigured";
  return "rejected";
}

function toSendFailure(result: ApiResult, secret: string): Exclude<SendResult, { kind: "accepted" }> {
  if (result.kind === "failed") {
    return result.retry ? { kind: "retry", error: result.error } : { kind: "misconfigured", error: result.error };
  }
  const { status, envelope } = result;
  const error = providerError(status, envelope, secret);
  const known = envelope.responseCode === null ? undefined : RESPONSE_CODES[envelope.responseCode];
  const kind = known?.send ?? classifyUnknown(status);
  if (kind !== "retry") return { kind, error };
  const waitSeconds = Number(envelope.data.timeout);
  return waitSeconds > 0 ? { kind, error, retryAfterMs: waitSeconds * 1000 } : { kind, error };
}

function succeeded(result: ApiResult): result is Extract<ApiResult, { kind: "response" }> {
  return result.kind === "response" && result.status >= 200 && result.status < 300 && result.envelope.responseCode === 200;
}

function unsupported(channel: Channel): SendResult & { kind: "misconfigured" } {
  return {
    kind: "misconfigured",
    error: { code: "unsupported_channel", message: `Message Central cannot send ${channel} here` },
  };
}

const invalidNumber = { kind: "rejected", error: { code: "invalid_number", message: "not a valid E.164 number" } } as const;

/** verifyd's own code as a plain SMS, through the custom-SMS form of the send API (section 4.3). */
export function createMessageCentralSender(config: MessageCentralConfig, deps: MessageCentralDeps): Sender {
  const { senderId } = config;
  if (!senderId) throw new Error("messagecentral: senderId is required to send our own SMS text");
  const client = createMessageCentralClient(config, deps.clock);
  return {
    provider: deps.name ?? "messagecentral",
    channels: ["sms"],
    async send(message, signal): Promise<SendResult> {
      if (message.channel !== "sms") return unsupported(message.channel);
      const number = splitNumber(message.to);
      if (!number) return invalidNumber;
      const result = await client.call(
        "POST",
        SEND_PATH,
        { ...number, customerId: config.customerId, type: "SMS", flowType: "SMS", senderId, message: message.body },
        signal,
      );
      if (!succeeded(result)) return toSendFailure(result, message.code);
      const { data } = result.envelope;
      return { kind: "accepted", providerMessageId: text(data.verificationId) ?? text(data.transactionId) };
    },
  };
}

/** VerifyNow: Message Central generates, sends and checks the code (sections 4.2 and 4.4). */
export function createMessageCentralVerifier(config: MessageCentralConfig, deps: MessageCentralDeps): DelegatedVerifier {
  const client = createMessageCentralClient(config, deps.clock);
  return {
    provider: deps.name ?? "messagecentral",
    channels: ["sms", "whatsapp"],
    async start(to, channel, signal) {
      const flowType = FLOW_TYPES[channel];
      if (!flowType) return unsupported(channel);
      const number = splitNumber(to);
      if (!number) return invalidNumber;
      const result = await client.call(
        "POST",
        SEND_PATH,
        { ...number, customerId: config.customerId, flowType, otpLength: String(config.otpLength) },
        signal,
      );
      if (!succeeded(result)) return toSendFailure(result, "");
      const reference = text(result.envelope.data.verificationId);
      // Without its id the code can never be checked: better to fall back than to wait on it.
      if (!reference)
        return { kind: "rejected", error: { code: "no_verification_id", message: "success without verificationId" } };
      return { kind: "accepted", reference, providerMessageId: reference };
    },

    async check(reference, code, signal): Promise<DelegatedCheckResult> {
      const result = await client.call(
        "GET",
        VALIDATE_PATH,
        { verificationId: reference, code, customerId: config.customerId },
        signal,
      );
      if (result.kind === "failed") return { kind: "error", error: result.error, retryable: result.retry };
      const { status, envelope } = result;
      const error = providerError(status, envelope, code);
      if (succeeded(result)) {
        // Only an explicit completion approves; any other success-shaped answer is not proof.
        if (envelope.data.verificationStatus === "VERIFICATION_COMPLETED") return { kind: "approved" };
        return {
          kind: "error",
          error: { code: "unexpected_status", message: "200 without VERIFICATION_COMPLETED" },
          retryable: false,
        };
      }
      const known = envelope.responseCode === null ? undefined : RESPONSE_CODES[envelope.responseCode];
      const outcome = known?.check ?? (classifyUnknown(status) === "retry" ? "retryable_error" : "error");
      if (outcome === "wrong_code" || outcome === "expired") return { kind: outcome };
      return { kind: "error", error, retryable: outcome === "retryable_error" };
    },
  };
}
