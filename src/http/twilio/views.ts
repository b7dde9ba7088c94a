import type { Channel, Delivery, Service, Verification } from "../../core/model.js";
import { effectiveStatus } from "../../core/verification/index.js";
import { attemptSid, serviceSid, verificationSid } from "./sids.js";

/** Twilio's timestamps: ISO 8601 to the second with `Z`, the form its SDK parses into a Date. */
export const twilioDate = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** What every answer needs to name itself: the caller's Account SID and the surface's absolute base URL. */
export interface ViewContext {
  accountSid: string;
  baseUrl: string;
  now: number;
}

/** PSD2 transaction binding (`Amount`, `Payee`), echoed in answers; read from requests by `psd2From`. */
export interface Psd2Binding {
  amount: string | null;
  payee: string | null;
}
export const NO_PSD2: Psd2Binding = { amount: null, payee: null };

export function serviceView(service: Service & { createdAt: number }, ctx: ViewContext) {
  const sid = serviceSid(service.id);
  const url = `${ctx.baseUrl}/Services/${sid}`;
  return {
    sid,
    account_sid: ctx.accountSid,
    friendly_name: service.name,
    code_length: service.policy.codeLength,
    lookup_enabled: false,
    psd2_enabled: false,
    // verifyd's number screening refuses SMS to fixed lines (see docs/security.md, Number screening).
    skip_sms_to_landlines: true,
    dtmf_input_required: false,
    tts_name: null,
    do_not_share_warning_enabled: true,
    custom_code_enabled: false,
    push: null,
    totp: null,
    default_template_sid: null,
    whatsapp: null,
    passkeys: null,
    verify_event_subscription_enabled: false,
    date_created: twilioDate(service.createdAt),
    date_updated: twilioDate(service.createdAt),
    url,
    links: { verifications: `${url}/Verifications`, verification_checks: `${url}/VerificationCheck` },
  };
}

/** verifyd's channel as Twilio names it: a voice call is `call`. */
export const twilioChannel = (channel: Channel | undefined): string => (channel === "voice" ? "call" : (channel ?? "sms"));

export function verificationView(v: Verification, ctx: ViewContext, deliveries: Delivery[]) {
  const sid = verificationSid(v.id);
  const service = serviceSid(v.serviceId);
  const status = effectiveStatus(v, ctx.now);
  return {
    sid,
    service_sid: service,
    account_sid: ctx.accountSid,
    to: v.to,
    channel: twilioChannel(v.route[v.currentStep]?.channel),
    status,
    valid: status === "approved",
    lookup: {},
    // PSD2 transaction binding, as bound to the code at the start.
    amount: v.transaction?.amount ?? null,
    payee: v.transaction?.payee ?? null,
    send_code_attempts: deliveries.map((d) => ({
      attempt_sid: attemptSid(d.id),
      channel: twilioChannel(d.channel),
      time: twilioDate(d.createdAt),
    })),
    date_created: twilioDate(v.createdAt),
    date_updated: twilioDate(v.updatedAt),
    sna: null,
    url: `${ctx.baseUrl}/Services/${service}/Verifications/${sid}`,
  };
}

/** A VerificationCheck: the verification after the check, without its attempts or url. */
export function checkView(v: Verification, valid: boolean, ctx: ViewContext) {
  const { send_code_attempts: _a, url: _u, lookup: _l, sna: _s, ...rest } = verificationView(v, ctx, []);
  return { ...rest, valid, sna_attempts_error_codes: [] };
}
