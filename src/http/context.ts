import type { ApiKey, Service } from "../core/model.js";

/** The caller a request's API key resolved to: the key, its service, and whether it may act across services. */
export interface Principal {
  key: ApiKey;
  service: Service;
  admin: boolean;
}

/** Typed context variables shared by middleware and routes. */
export type AppEnv = {
  Variables: {
    requestId: string;
    principal: Principal;
    /** The request's phone number, masked (`+1415***0100`), for the access log. */
    destination?: string | null;
  };
};
