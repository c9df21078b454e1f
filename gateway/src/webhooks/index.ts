import { bitbucket } from "./bitbucket.js";
import { github } from "./github.js";
import { gitlab } from "./gitlab.js";
import { hmacProvider } from "./hmac.js";
import { jira } from "./jira.js";
import { none } from "./none.js";
import { shopify } from "./shopify.js";
import { slack } from "./slack.js";
import { standardWebhooks } from "./standard-webhooks.js";
import { stripe } from "./stripe.js";
import type { Provider } from "./types.js";

export * from "./types.js";
export { hmacOptionsSchema, type HmacOptions } from "./hmac.js";

/** Every provider an endpoint may name. `standard-webhooks` also serves Svix senders. */
export const providers: Record<string, Provider> = {
  github,
  gitlab,
  jira,
  bitbucket,
  stripe,
  slack,
  shopify,
  "standard-webhooks": standardWebhooks,
  hmac: hmacProvider,
  none,
};

export const providerNames = Object.keys(providers);

export function getProvider(name: string): Provider | undefined {
  return Object.hasOwn(providers, name) ? providers[name] : undefined;
}
