import type { CredentialRef, Principal } from "@wb/authz";

/** Context variables, typed once for every route. */
export type AppEnv = {
  Variables: {
    requestId: string;
    /** The client's address: the TCP peer, or what trusted proxies forwarded (TRUSTED_PROXIES). */
    clientAddress: string;
    principal: Principal;
    /** What authenticated the request (an API token or a session). */
    credential: CredentialRef;
    /** Webhook ingest: the matched endpoint's provider, and what the stream did (for metrics). */
    webhookProvider: string;
    deliveryOutcome: "stored" | "duplicate";
  };
};
