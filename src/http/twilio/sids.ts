import { createHash } from "node:crypto";

/**
 * Twilio-style sids for verifyd ids. verifyd's generated ids are a prefix and 32 hex digits
 * (`ver_0193…`, `svc_3f2a…`, `dlv_…`), so a sid is Twilio's two-letter prefix and the same 32 digits:
 * stable, reversible, and nothing is stored. Ids of another form (the configured `svc_default`,
 * ids an operator wrote) get 32 hex digits of a SHA-256 instead, found again by comparing sids.
 */
const HEX_ID = /^([a-z]+)_([0-9a-f]{32})$/;
const SID = /^([A-Z]{2})([0-9a-f]{32})$/;

const digest = (id: string) => createHash("sha256").update(`verifyd:${id}`).digest("hex").slice(0, 32);

function toSid(sidPrefix: string, idPrefix: string, id: string): string {
  const match = HEX_ID.exec(id);
  return match && match[1] === idPrefix ? `${sidPrefix}${match[2]}` : `${sidPrefix}${digest(id)}`;
}

/** The verifyd id a sid stands for when that id has the generated form; else null (compare sids instead). */
function fromSid(sidPrefix: string, idPrefix: string, sid: string): string | null {
  const match = SID.exec(sid);
  return match && match[1] === sidPrefix ? `${idPrefix}_${match[2]}` : null;
}

export const serviceSid = (serviceId: string) => toSid("VA", "svc", serviceId);
export const serviceIdOf = (sid: string) => fromSid("VA", "svc", sid);

export const verificationSid = (verificationId: string) => toSid("VE", "ver", verificationId);
export const verificationIdOf = (sid: string) => fromSid("VE", "ver", sid);

/** Twilio names each send of a code an attempt (`VL…`); here, a delivery. */
export const attemptSid = (deliveryId: string) => toSid("VL", "dlv", deliveryId);

/** What the Twilio SDK sends as the Basic-auth username: an Account SID, or an API key SID with `accountSid` set. */
export const ACCOUNT_OR_KEY_SID = /^(AC|SK)[0-9a-fA-F]{32}$/;

/** A stable Account SID for a key that authenticated with an `SK…` username (no account was named). */
export const accountSidForKey = (keyId: string) => `AC${digest(`account:${keyId}`)}`;

export const isSid = (prefix: string, value: string) => SID.test(value) && value.startsWith(prefix);
