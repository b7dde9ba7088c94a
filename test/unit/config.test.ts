import { describe, expect, it } from "vitest";
import { loadConfig, unknownVariableWarnings } from "../../src/config/env.js";
import { ConfigError } from "../../src/config/errors.js";

const SECRET = "s".repeat(40);
const ADMIN = "a".repeat(30);
const WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const expectConfigError = (env: Record<string, string>, words: string, readFile?: (p: string) => string) => {
  try {
    loadConfig(env, readFile);
    expect.unreachable();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(words);
  }
};

describe("loadConfig", () => {
  it("runs with nothing set, on development defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ env: "development", port: 8080, dbPath: "./data/verifyd.db", sender: "console" });
    expect(c.defaults).toEqual({
      codeLength: 6,
      ttlMs: 600_000,
      maxChecks: 5,
      maxSends: 5,
      resendCooldownMs: 30_000,
      resendPolicy: "same",
    });
    expect(c.limits.sends_per_destination).toEqual({ points: 5, windowMs: 600_000 });
    expect(c.limits.failed_checks_per_destination).toEqual({ points: 10, windowMs: 3_600_000 });
  });

  it("names the bad variable", () => {
    expectConfigError({ PORT: "eighty" }, "PORT");
    expectConfigError({ VERIFYD_CODE_LENGTH: "3" }, "VERIFYD_CODE_LENGTH");
    expectConfigError({ VERIFYD_CODE_TTL: "soon" }, "VERIFYD_CODE_TTL");
    expectConfigError({ VERIFYD_LIMIT_SENDS_PER_DESTINATION: "5 per minute" }, "VERIFYD_LIMIT_SENDS_PER_DESTINATION");
    expectConfigError({ VERIFYD_SECRET: "short" }, "VERIFYD_SECRET");
    expectConfigError({ VERIFYD_HTTP_CHANNEL_URL: "ftp://x" }, "VERIFYD_HTTP_CHANNEL_URL");
  });

  it("selects the http channel when its URL is set", () => {
    const c = loadConfig({ VERIFYD_HTTP_CHANNEL_URL: "http://127.0.0.1:9/sms" });
    expect(c.sender).toBe("http");
    expectConfigError({ VERIFYD_SENDER: "http" }, "VERIFYD_HTTP_CHANNEL_URL");
  });

  it("reads secrets from *_FILE and refuses both forms at once", () => {
    const files: Record<string, string> = { "/run/secrets/s": `${SECRET}\n`, "/run/secrets/a": ADMIN };
    const read = (p: string) => {
      const v = files[p];
      if (v === undefined) throw new Error("ENOENT");
      return v;
    };
    const c = loadConfig({ VERIFYD_SECRET_FILE: "/run/secrets/s", VERIFYD_ADMIN_KEY_FILE: "/run/secrets/a" }, read);
    expect(c.secret).toBe(SECRET);
    expect(c.adminKey).toBe(ADMIN);
    expectConfigError({ VERIFYD_SECRET_FILE: "/nope" }, "VERIFYD_SECRET_FILE", read);
    expectConfigError({ VERIFYD_SECRET: SECRET, VERIFYD_SECRET_FILE: "/run/secrets/s" }, "both set", read);
  });

  it("refuses unsafe production setups", () => {
    const http = { VERIFYD_HTTP_CHANNEL_URL: "https://gw.example/sms", VERIFYD_HTTP_CHANNEL_SECRET: WHSEC };
    expectConfigError({ VERIFYD_ENV: "production", VERIFYD_ADMIN_KEY: ADMIN, ...http }, "VERIFYD_SECRET");
    expectConfigError({ VERIFYD_ENV: "production", VERIFYD_SECRET: SECRET, ...http }, "VERIFYD_ADMIN_KEY");
    expectConfigError({ VERIFYD_ENV: "production", VERIFYD_SECRET: SECRET, VERIFYD_ADMIN_KEY: ADMIN }, "console");
    expectConfigError(
      {
        VERIFYD_ENV: "production",
        VERIFYD_SECRET: SECRET,
        VERIFYD_ADMIN_KEY: ADMIN,
        VERIFYD_HTTP_CHANNEL_URL: "https://gw.example/sms",
      },
      "VERIFYD_HTTP_CHANNEL_SECRET",
    );
    const ok = loadConfig({ VERIFYD_ENV: "production", VERIFYD_SECRET: SECRET, VERIFYD_ADMIN_KEY: ADMIN, ...http });
    expect(ok.sender).toBe("http");
  });
});

describe("the config file", () => {
  const files: Record<string, string> = {};
  const read = (p: string) => {
    const v = files[p];
    if (v === undefined) throw new Error("ENOENT");
    return v;
  };
  const withFile = (doc: unknown, env: Record<string, string> = {}) => {
    files["/etc/verifyd.json"] = JSON.stringify(doc);
    return loadConfig({ VERIFYD_CONFIG_FILE: "/etc/verifyd.json", ...env }, read);
  };

  it("reads providers and routes, with env: and file: secret references", () => {
    files["/run/secrets/token"] = "tok-from-file\n";
    const c = withFile(
      {
        publicUrl: "https://verify.example.com",
        providers: { twilio: { type: "twilio", accountSid: "AC1", authToken: "file:/run/secrets/token", from: "env:FROM" } },
        route: [
          { channel: "whatsapp", providers: ["twilio"] },
          { channel: "sms", providers: ["twilio"], fallbackAfter: "45s" },
        ],
        countryRoutes: { IN: [{ channel: "sms", providers: ["twilio"] }] },
      },
      { FROM: "+15017122661" },
    );
    expect(c.providers.twilio).toEqual({ type: "twilio", accountSid: "AC1", authToken: "tok-from-file", from: "+15017122661" });
    expect(c.route).toEqual([
      { channel: "whatsapp", providers: ["twilio"], fallbackAfterMs: 30_000 },
      { channel: "sms", providers: ["twilio"], fallbackAfterMs: 45_000 },
    ]);
    expect(c.countryRoutes.IN).toEqual([{ channel: "sms", providers: ["twilio"], fallbackAfterMs: null }]);
    expect(c.publicUrl).toBe("https://verify.example.com");
  });

  it("reads voice and email steps, line-type filters, their fallback defaults and the email screening settings", () => {
    const c = withFile(
      {
        providers: { twilio: { type: "twilio", accountSid: "AC1", authToken: "t", voice: { from: "+15017122661" } } },
        route: [
          { channel: "sms", providers: ["twilio"], lineTypes: ["mobile", "fixed_line_or_mobile"] },
          { channel: "voice", providers: ["twilio"] },
          { channel: "email", providers: ["console"] },
        ],
      },
      { VERIFYD_ALLOW_EMAIL_DOMAINS: "Bücher.example, Partner.COM", VERIFYD_DISPOSABLE_EMAIL: "allow" },
    );
    expect(c.route).toEqual([
      { channel: "sms", providers: ["twilio"], fallbackAfterMs: null, lineTypes: ["mobile", "fixed_line_or_mobile"] },
      { channel: "voice", providers: ["twilio"], fallbackAfterMs: 120_000 },
      { channel: "email", providers: ["console"], fallbackAfterMs: null },
    ]);
    expect(c.screening.email).toEqual({ refuseDisposable: false, allowDomains: ["xn--bcher-kva.example", "partner.com"] });
    expect(c.limits.calls_per_destination).toEqual({ points: 3, windowMs: 3_600_000 });
    expect(c.limits.emails_per_domain).toEqual({ points: 1000, windowMs: 3_600_000 });
  });

  it("names what is wrong", () => {
    expectConfigError({ VERIFYD_CONFIG_FILE: "/missing.json" }, "VERIFYD_CONFIG_FILE", read);
    const bad = (doc: unknown, words: string, env: Record<string, string> = {}) => {
      files["/etc/bad.json"] = JSON.stringify(doc);
      expectConfigError({ VERIFYD_CONFIG_FILE: "/etc/bad.json", ...env }, words, read);
    };
    bad({ providers: { t: { type: "twilio", authToken: "env:NOPE" } } }, "NOPE");
    bad({ route: [{ channel: "sms", providers: ["ghost"] }] }, 'provider "ghost" is not configured');
    bad({ route: [{ channel: "fax", providers: ["console"] }] }, "config.route[0].channel");
    bad({ rout: [{ channel: "sms", providers: ["console"] }] }, 'config.rout: unknown setting (did you mean "route"?)');
    bad(
      { route: [{ channel: "sms", providers: ["console"], fallbackafter: "30s" }] },
      'config.route[0].fallbackafter: unknown setting (did you mean "fallbackAfter"?) (known: channel, providers, fallbackAfter, lineTypes)',
    );
    bad({ route: [{ channel: "sms", providers: ["console"], fallbackAfter: "soon" }] }, "fallbackAfter");
    bad({ route: [{ channel: "voice", providers: ["console"], lineTypes: ["landline"] }] }, "config.route[0].lineTypes[0]");
    expectConfigError({ VERIFYD_ALLOW_EMAIL_DOMAINS: "not a domain" }, "VERIFYD_ALLOW_EMAIL_DOMAINS");
    bad({ route: [{ channel: "sms", providers: ["console"] }] }, "console", {
      VERIFYD_ENV: "production",
      VERIFYD_SECRET: SECRET,
      VERIFYD_ADMIN_KEY: ADMIN,
    });
  });
});

describe("a newcomer's configuration", () => {
  it("reports every production problem at once", () => {
    try {
      loadConfig({ VERIFYD_ENV: "production", VERIFYD_EVENTS_URL: "https://hooks.example/verifyd" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe(
        [
          "invalid configuration (4 problems)",
          "route: the console channel prints codes and is refused in production (set VERIFYD_SENDER=http or configure a route)",
          "VERIFYD_SECRET: required in production (or VERIFYD_SECRET_FILE)",
          "VERIFYD_ADMIN_KEY: required in production (or VERIFYD_ADMIN_KEY_FILE)",
          "VERIFYD_EVENTS_SECRET: required in production so the receiver can verify events",
        ].join("\n  "),
      );
    }
  });

  it("reports a bad config file together with the environment's problems", () => {
    try {
      loadConfig(
        { VERIFYD_CONFIG_FILE: "/etc/verifyd.json", VERIFYD_TLS_CERT_FILE: "/tls/cert.pem", VERIFYD_SECRET_FILE: "/nope" },
        (path) => {
          if (path === "/etc/verifyd.json") return JSON.stringify({ rout: [] });
          throw new Error("ENOENT");
        },
      );
      expect.unreachable();
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toMatch(/^invalid configuration \(3 problems\)/);
      expect(message).toContain("VERIFYD_SECRET_FILE: cannot read /nope (ENOENT)");
      expect(message).toContain("VERIFYD_TLS_CERT_FILE and VERIFYD_TLS_KEY_FILE: set both (HTTPS) or neither (HTTP)");
      expect(message).toContain('config.rout: unknown setting (did you mean "route"?)');
    }
  });

  it("names the closest known variable for a misspelled VERIFYD_* one", () => {
    expect(
      unknownVariableWarnings({
        VERIFYD_SECRT: "x",
        VERIFYD_CODE_LENGHT: "8",
        VERIFYD_ADMIN_KEY_FIEL: "/run/secrets/admin",
        VERIFYD_SECRET: "x",
        VERIFYD_SECRET_FILE: "/x",
        VERIFYD_LIMIT_SENDS_PER_DESTINATION: "5/10m",
        VERIFYD_CACHE_DIR: "/var/cache/verifyd",
        VERIFYD_SOMETHING_ELSE_ENTIRELY: "1",
        PATH: "/usr/bin",
      }),
    ).toEqual([
      "VERIFYD_ADMIN_KEY_FIEL is not a verifyd setting and is ignored; did you mean VERIFYD_ADMIN_KEY_FILE?",
      "VERIFYD_CODE_LENGHT is not a verifyd setting and is ignored; did you mean VERIFYD_CODE_LENGTH?",
      "VERIFYD_SECRT is not a verifyd setting and is ignored; did you mean VERIFYD_SECRET?",
      "VERIFYD_SOMETHING_ELSE_ENTIRELY is not a verifyd setting and is ignored",
    ]);
  });
});
