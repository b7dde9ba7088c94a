import type { AdapterType, LazyAdapterType } from "./registry.js";

const adapter = <S>(
  schema: AdapterType["schema"],
  create: (settings: S, deps: Parameters<AdapterType["create"]>[1]) => ReturnType<AdapterType["create"]>,
): AdapterType => ({
  schema,
  create: create as AdapterType["create"],
});

/**
 * Provider adapters selectable with `"type"` in the config file's `providers`. Each is imported
 * when a configured provider uses it: together they are a large part of the program (the SMPP
 * client brings a character-set library), and most deployments use one or two.
 */
export const ADAPTER_TYPES: Record<string, LazyAdapterType> = {
  twilio: async () => {
    const m = await import("./twilio.js");
    return adapter(m.twilioConfigSchema, m.createTwilioSender);
  },
  "meta-whatsapp": async () => {
    const m = await import("./meta-whatsapp.js");
    return adapter(m.metaWhatsappConfigSchema, m.createMetaWhatsappSender);
  },
  smpp: async () => {
    const m = await import("./smpp.js");
    return adapter(m.smppConfigSchema, m.createSmppSender);
  },
  vonage: async () => {
    const m = await import("./vonage.js");
    return adapter(m.vonageConfigSchema, m.createVonageSender);
  },
  "google-rbm": async () => {
    const m = await import("./google-rbm.js");
    return adapter(m.googleRbmConfigSchema, m.createGoogleRbmSender);
  },
  messagecentral: async () => {
    const m = await import("./messagecentral.js");
    return adapter(m.messageCentralConfigSchema, m.createMessageCentralSender);
  },
  /** Email over any SMTP relay (nodemailer). */
  smtp: async () => {
    const m = await import("./smtp.js");
    return adapter(m.smtpConfigSchema, m.createSmtpSender);
  },
  sendgrid: async () => {
    const m = await import("./sendgrid.js");
    return adapter(m.sendgridConfigSchema, m.createSendgridSender);
  },
  /** Delegated: Message Central generates, sends and checks its own code. */
  "messagecentral-verifynow": async () => {
    const [m, { delegatedSender }] = await Promise.all([import("./messagecentral.js"), import("./delegated.js")]);
    return adapter(m.messageCentralConfigSchema, (settings: Parameters<typeof m.createMessageCentralVerifier>[0], deps) =>
      delegatedSender(m.createMessageCentralVerifier(settings, deps)),
    );
  },
};
