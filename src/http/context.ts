import type { Principal } from "./middleware/auth.js";

/** Typed context variables shared by middleware and routes. */
export type AppEnv = {
  Variables: {
    requestId: string;
    principal: Principal;
  };
};
