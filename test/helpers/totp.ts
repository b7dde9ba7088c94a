import { generate } from "otplib";

/** What an authenticator app would show: codes computed independently of verifyd's own check. */

export interface TotpParams {
  /** Base32, as scanned from the otpauth URI. */
  secret: string;
  digits?: number;
  period?: number;
}

/** The parts of an otpauth URI (non-special URL scheme: host = type, pathname = /label). */
export function parseOtpauth(uri: string) {
  const url = new URL(uri);
  const get = (name: string) => url.searchParams.get(name);
  return {
    protocol: url.protocol,
    type: url.host,
    label: decodeURIComponent(url.pathname.slice(1)),
    rawLabel: url.pathname.slice(1),
    secret: get("secret") ?? "",
    issuer: get("issuer"),
    algorithm: get("algorithm"),
    digits: Number(get("digits")),
    period: Number(get("period")),
  };
}

/** The code of the step `offset` steps away from the one containing `nowMs`. */
export async function codeAt(p: TotpParams, nowMs: number, offset = 0): Promise<string> {
  const period = p.period ?? 30;
  return generate({ secret: p.secret, digits: p.digits ?? 6, period, epoch: Math.floor(nowMs / 1000) + offset * period });
}

/** A well-formed code that no step within ±`reach` of `nowMs` produces, for any of the given secrets. */
export async function wrongCodeAt(params: TotpParams | TotpParams[], nowMs: number, reach = 2): Promise<string> {
  const list = Array.isArray(params) ? params : [params];
  const taken = new Set<string>();
  for (const p of list) for (let o = -reach; o <= reach; o++) taken.add(await codeAt(p, nowMs, o));
  const digits = list[0]?.digits ?? 6;
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(digits, "0");
    if (!taken.has(candidate)) return candidate;
  }
}
