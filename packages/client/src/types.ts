/**
 * The shapes of verifyd's verification API, as the OpenAPI document at `/openapi.json` describes
 * them (schemas `StartVerification`, `CheckVerification`, `CheckByDestination`, `Verification`,
 * `CheckResult`). verifyd's own tests check that they match the server's schemas.
 */

export type VerificationStatus = "pending" | "approved" | "canceled" | "expired" | "max_attempts_reached" | "failed";

/** The body of a start (`POST /v1/verifications`). */
export interface StartInput {
  /**
   * Phone number in E.164 form (or `00…`, or national with `country`), or an email address. Required,
   * except with `channel: "inbound"`.
   */
  to?: string | undefined;
  /** ISO 3166-1 alpha-2 country in which a national `to` is read (else the service's default country). */
  country?: string | undefined;
  /** One channel, as `channels: [channel]`; `inbound`: nothing is sent, the user sends the returned text to a business number. */
  channel?: "inbound" | "sms" | "whatsapp" | "rcs" | "voice" | "email" | undefined;
  /** For `channel: "inbound"`: the channels the user may answer on. */
  inbound_channels?: ("whatsapp" | "sms")[] | undefined;
  /** Channels to use, in order of preference; narrows the service's route. */
  channels?: ("sms" | "whatsapp" | "rcs" | "voice" | "email")[] | undefined;
  /** The end user's IP address (IPv4 or IPv6); per-IP limits apply only when it is given. */
  client_ip?: string | undefined;
  /** Your id of the user's device (`starts_per_device`). */
  device_id?: string | undefined;
  /** Your id of the user's account (`starts_per_user`). */
  user_id?: string | undefined;
  /** The user's language (BCP-47). */
  locale?: string | undefined;
  /** PSD2 transaction binding: `<ISO 4217 currency> <decimal>`, e.g. `EUR 12.50`; needs `payee`. */
  amount?: string | undefined;
  /** PSD2 transaction binding: who is paid; needs `amount`. */
  payee?: string | undefined;
}

/** The body of a check by id (`POST /v1/verifications/{id}/check`). */
export interface CheckBody {
  code: string;
  client_ip?: string | undefined;
  /** For a transaction-bound verification: the same amount as at the start. */
  amount?: string | undefined;
  /** For a transaction-bound verification: the same payee as at the start. */
  payee?: string | undefined;
}

/** The body of a check by number (`POST /v1/verification-checks`). */
export interface CheckByToBody extends CheckBody {
  to: string;
  /** ISO 3166-1 alpha-2 country in which a national `to` is read. */
  country?: string | undefined;
}

/** A check by verification id, or by phone number or email address (`to`). */
export type CheckInput = ({ id: string } & CheckBody) | CheckByToBody;

export interface Delivery {
  id: string;
  step: number;
  channel: string;
  provider: string;
  status: string;
  /** Why the attempt failed or the route moved on. */
  error_code: string | null;
  error_message: string | null;
  tries: number;
  created_at: string;
  updated_at: string;
}

export interface InboundInstructions {
  /** What the user sends. */
  text: string;
  numbers: {
    channel: "whatsapp" | "sms";
    number: string;
    wa_me_url: string | null;
    sms_uri: string | null;
    qr_svg: string;
  }[];
}

export interface Verification {
  id: string;
  /** Null for an inbound verification open to any sender. */
  to: string | null;
  country: string | null;
  status: VerificationStatus;
  channel: string | null;
  send_attempts: number;
  max_sends: number;
  check_attempts: number;
  attempts_remaining: number;
  created_at: string;
  updated_at: string;
  expires_at: string;
  next_resend_at: string | null;
  approved_at: string | null;
  locale: string | null;
  amount?: string | undefined;
  payee?: string | undefined;
  /** Present on verifications of a service test number: nothing was sent. */
  test?: true | undefined;
  /** Inbound verifications: the number the approving message came from. */
  verified_number?: string | null | undefined;
  /** Only in the answer that starts an inbound verification. */
  inbound?: InboundInstructions | undefined;
  /**
   * Present when the conversion guard refused the route's paying channels at the start and the
   * verification goes on WhatsApp alone: the channels not sent, and the guard's reasons.
   */
  withheld?: { channels: string[]; reasons: string[] } | undefined;
  /** In the answer of `get`. */
  deliveries?: Delivery[] | undefined;
}

export type CheckReason =
  | "wrong_code"
  | "expired"
  | "max_attempts_reached"
  | "not_found"
  | "already_approved"
  | "canceled"
  | "transaction_mismatch"
  /** Cannot be a code of this verification (length or alphabet): no attempt was spent. */
  | "malformed_code";

/** A check's outcome: a wrong code is an answer, not an error. */
export interface CheckOutcome {
  valid: boolean;
  status: VerificationStatus | null;
  reason: CheckReason | null;
  attempts_remaining: number;
  verification_id: string | null;
  test?: true | undefined;
}

/** Every `code` of verifyd's problem documents (see its docs/errors.md). */
export type ErrorCode =
  | "invalid_request"
  | "invalid_json"
  | "invalid_phone_number"
  | "invalid_email_address"
  | "unsupported_media_type"
  | "payload_too_large"
  | "unauthorized"
  | "webhook_signature_invalid"
  | "forbidden"
  | "opted_out"
  | "blocked"
  | "route_not_found"
  | "method_not_allowed"
  | "verification_not_found"
  | "verification_closed"
  | "factor_not_found"
  | "service_not_found"
  | "api_key_not_found"
  | "abuse_block_not_found"
  | "event_not_found"
  | "resend_cooldown"
  | "max_sends_reached"
  | "rate_limited"
  | "idempotency_key_invalid"
  | "idempotency_key_mismatch"
  | "idempotency_key_in_flight"
  | "channel_not_in_route"
  | "channel_unavailable"
  | "service_unavailable"
  | "limiter_unavailable"
  | "overloaded"
  | "internal_error";
