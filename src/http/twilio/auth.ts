import type { MiddlewareHandler } from "hono";
import type { Principal } from "../context.js";
import type { Authenticator } from "../middleware/auth.js";
import { TwilioError } from "./errors.js";
import { ACCOUNT_OR_KEY_SID, accountSidForKey } from "./sids.js";

export type TwilioEnv = {
  Variables: {
    requestId: string;
    principal: Principal;
    /** Echoed as `account_sid` in every answer. */
    accountSid: string;
  };
};

const authenticateError = () => new TwilioError(20003, 401, "Authenticate");

/**
 * HTTP Basic, as the Twilio SDK sends it: the username is the Account SID (`AC…`), or an API key SID
 * (`SK…`) when the client names its account separately; the password is a verifyd API key. The
 * username only has to have a sid's form: verifyd has no accounts, the key says everything.
 */
export function requireBasicAuth(authenticate: Authenticator): MiddlewareHandler<TwilioEnv> {
  return async (c, next) => {
    const match = /^Basic\s+([A-Za-z0-9+/=]{1,1024})\s*$/i.exec(c.req.header("authorization") ?? "");
    if (!match?.[1]) throw authenticateError();
    const decoded = Buffer.from(match[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    if (colon < 0 || !ACCOUNT_OR_KEY_SID.test(username) || !/^\S{1,256}$/.test(password)) throw authenticateError();
    const principal = await authenticate(password);
    if (!principal) throw authenticateError();
    c.set("principal", principal);
    c.set("accountSid", username.startsWith("AC") ? username : accountSidForKey(principal.key.id));
    await next();
  };
}
