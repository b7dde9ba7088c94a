import { type PriceTable, toMicros } from "../../src/core/prices.js";

/** The seed's providers: `tw` and `vn` send SMS, `wa` WhatsApp. GB on `vn` costs 0.04, then 0.05 from day 2. */
export const SEED_PRICES: PriceTable = {
  currency: "EUR",
  providers: {
    tw: { sms: { defaultMicros: toMicros(0.05), countries: { US: toMicros(0.0075) }, billedOn: "send" } },
    vn: { sms: { defaultMicros: toMicros(0.06), countries: { GB: toMicros(0.04) }, billedOn: "send" } },
    wa: { whatsapp: { defaultMicros: toMicros(0.02), countries: {}, billedOn: "delivery" } },
  },
};
export const SEED_PRICES_DAY2: PriceTable = {
  ...SEED_PRICES,
  providers: {
    ...SEED_PRICES.providers,
    vn: { sms: { defaultMicros: toMicros(0.06), countries: { GB: toMicros(0.05) }, billedOn: "send" } },
  },
};
