import { disposableEmailBlocklist } from "disposable-email-domains-js";
import { DEFAULT_EMAIL_SCREENING, type EmailScreeningRules, type Screening } from "./abuse.js";
import { emailDomain, maskEmail } from "./email.js";
import { VerifydError } from "./errors.js";
import type { Limiter } from "./ports.js";
import { tellRefusal } from "./refusals.js";

/**
 * Screening of email destinations, the counterpart of number screening: throwaway-mailbox domains
 * (a maintained community list, shipped as a package and refreshed with it) and the per-domain send
 * velocity, which catches a farm of addresses on one domain the way the per-prefix velocity catches
 * a range of numbers. Domains on the allow-list pass both.
 */
let disposable: Set<string> | undefined;

/** The domain and each parent with at least two labels: `a.b.example.com` → `a.b.example.com`, `b.example.com`, `example.com`. */
function domainAndParents(domain: string): string[] {
  const labels = domain.split(".");
  return labels.slice(0, -1).map((_, i) => labels.slice(i).join("."));
}

/**
 * Whether a domain is a disposable-mailbox domain. The list names registrable domains, so a
 * subdomain of one (`x.mailinator.com`) is one too. The set is built once, on first use.
 */
export function isDisposableDomain(domain: string): boolean {
  disposable ??= new Set(disposableEmailBlocklist());
  return domainAndParents(domain).some((d) => disposable?.has(d));
}

function allowListed(domain: string, rules: EmailScreeningRules): boolean {
  const candidates = domainAndParents(domain);
  return rules.allowDomains.some((allowed) => candidates.includes(allowed));
}

const rulesOf = (screening: Screening | undefined): EmailScreeningRules => screening?.rules.email ?? DEFAULT_EMAIL_SCREENING;

/**
 * Refuses (403 `blocked`, reason `disposable_email_domain`) an address at a disposable domain, unless
 * its domain is allow-listed; in monitor mode only logs.
 */
export function screenEmail(address: string, screening: Screening | undefined): void {
  if (!screening) return;
  const rules = rulesOf(screening);
  const domain = emailDomain(address);
  if (!rules.refuseDisposable || allowListed(domain, rules) || !isDisposableDomain(domain)) return;
  const reasons = ["disposable_email_domain"];
  const { mode } = screening.rules;
  const fields = { to: maskEmail(address), reasons, blocked: true, mode };
  if (mode === "monitor") {
    screening.logger?.warn(fields, "destination screening would refuse (monitor mode)");
    return;
  }
  tellRefusal(screening, "destination screening refused", fields);
  throw new VerifydError("blocked", "the destination is refused: disposable_email_domain", { extensions: { reasons } });
}

/**
 * Counts a send against its domain's velocity (`emails_per_domain`). Exceeded, it refuses with 403
 * `blocked` (reason `domain_velocity`) in enforce mode and logs in monitor mode, as the per-prefix
 * velocity does for numbers.
 */
export async function enforceDomainVelocity(limiter: Limiter, address: string, screening: Screening | undefined): Promise<void> {
  if (!screening) return;
  const domain = emailDomain(address);
  if (allowListed(domain, rulesOf(screening))) return;
  const state = await limiter.consume("emails_per_domain", domain);
  if (state.allowed) return;
  const reasons = ["domain_velocity"];
  const { mode } = screening.rules;
  const fields = { to: maskEmail(address), reasons, blocked: true, mode };
  if (mode === "monitor") {
    screening.logger?.warn(fields, "send velocity would refuse (monitor mode)");
    return;
  }
  tellRefusal(screening, "send velocity refused", fields);
  throw new VerifydError("blocked", "the destination is refused: domain_velocity", {
    extensions: { reasons },
    retryAfterMs: state.resetMs,
  });
}
