import { delegatedSender } from "./delegated.js";
import { createGoogleRbmSender, googleRbmConfigSchema } from "./google-rbm.js";
import { createMessageCentralSender, createMessageCentralVerifier, messageCentralConfigSchema } from "./messagecentral.js";
import { createMetaWhatsappSender, metaWhatsappConfigSchema } from "./meta-whatsapp.js";
import type { AdapterType } from "./registry.js";
import { createSmppSender, smppConfigSchema } from "./smpp.js";
import { createTwilioSender, twilioConfigSchema } from "./twilio.js";
import { createVonageSender, vonageConfigSchema } from "./vonage.js";

const adapter = <S>(
  schema: AdapterType["schema"],
  create: (settings: S, deps: Parameters<AdapterType["create"]>[1]) => ReturnType<AdapterType["create"]>,
): AdapterType => ({
  schema,
  create: create as AdapterType["create"],
});

/** Provider adapters selectable with `"type"` in the config file's `providers`. */
export const ADAPTER_TYPES: Record<string, AdapterType> = {
  twilio: adapter(twilioConfigSchema, createTwilioSender),
  "meta-whatsapp": adapter(metaWhatsappConfigSchema, createMetaWhatsappSender),
  smpp: adapter(smppConfigSchema, createSmppSender),
  vonage: adapter(vonageConfigSchema, createVonageSender),
  "google-rbm": adapter(googleRbmConfigSchema, createGoogleRbmSender),
  messagecentral: adapter(messageCentralConfigSchema, createMessageCentralSender),
  /** Delegated: Message Central generates, sends and checks its own code. */
  "messagecentral-verifynow": adapter(
    messageCentralConfigSchema,
    (settings: Parameters<typeof createMessageCentralVerifier>[0], deps) =>
      delegatedSender(createMessageCentralVerifier(settings, deps)),
  ),
};
