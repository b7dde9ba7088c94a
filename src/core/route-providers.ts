import type { Channel, RouteStep } from "./model.js";

/** What one configured provider can send: a name and its channels (a Twilio account without `voice` places no calls). */
export type ProviderChannels = ReadonlyMap<string, readonly Channel[]>;

/** How to give a provider the channel a step asks of it, for the message of a mismatch. */
const HOW_TO_SEND: Record<Channel, string> = {
  sms: "an SMS sender (twilio from, vonage smsFrom, smpp, messagecentral, http)",
  whatsapp: "a WhatsApp sender (meta-whatsapp, twilio whatsappFrom, vonage whatsappFrom)",
  rcs: "an RCS sender (google-rbm, vonage rcsFrom)",
  voice: "a provider with voice settings (twilio or vonage with voice.from)",
  email: "an email provider (smtp or sendgrid)",
};

/**
 * The providers each step names that cannot send that step's channel, as sentences: a `voice` step
 * through an SMS-only account, an `email` step through Twilio. Sent anyway, such a step would fail
 * every time as misconfigured and fall through to the next step (or fail the verification), so the
 * configuration is refused instead. Providers that are not configured at all are another check's.
 * @example routeChannelProblems([{ channel: "voice", providers: ["twilio"] }], new Map([["twilio", ["sms"]]]))
 *   // → [{ index: 0, detail: 'provider "twilio" cannot send voice (it sends sms); name …' }]
 */
export function routeChannelProblems(
  steps: readonly Pick<RouteStep, "channel" | "providers">[],
  providers: ProviderChannels,
): { index: number; detail: string }[] {
  const problems: { index: number; detail: string }[] = [];
  steps.forEach((step, index) => {
    for (const name of step.providers) {
      const channels = providers.get(name);
      if (!channels || channels.includes(step.channel)) continue;
      const sends = channels.length > 0 ? channels.join(", ") : "nothing";
      problems.push({
        index,
        detail: `provider "${name}" cannot send ${step.channel} (it sends ${sends}); name ${HOW_TO_SEND[step.channel]}`,
      });
    }
  });
  return problems;
}
