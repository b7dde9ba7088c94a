import type { Principal } from "./middleware/auth.js";

/** Typed context variables shared by middleware and routes. */
export type AppEnv = {
  Variables: {
    requestId: string;
    principal: Principal;
    /** The request's phone number, masked (`+1415***0100`), for the access log. */
    destination?: string | null;
  };
};
