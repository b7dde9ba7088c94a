import type { InboundNumber } from "../config/env.js";
import type { Channel } from "../core/model.js";
import { loadQrCode } from "./qr.js";

/** What an inbound verification's start answer shows the user: the text to send and where to send it. */
export async function inboundInstructions(text: string, numbers: readonly InboundNumber[], channels: readonly Channel[]) {
  const body = encodeURIComponent(text);
  const usable = numbers.filter((n) => channels.includes(n.channel));
  usable.sort((a, b) => channels.indexOf(a.channel) - channels.indexOf(b.channel));
  return {
    text,
    numbers: await Promise.all(
      usable.map(async (n) => {
        const waMeUrl = n.channel === "whatsapp" ? `https://wa.me/${n.number.replace(/\D/g, "")}?text=${body}` : null;
        const smsUri = n.channel === "sms" ? `sms:${n.number}?&body=${body}` : null;
        return {
          channel: n.channel,
          number: n.number,
          wa_me_url: waMeUrl,
          sms_uri: smsUri,
          qr_svg: await (await loadQrCode()).toString((waMeUrl ?? smsUri) as string, { type: "svg" }),
        };
      }),
    ),
  };
}
