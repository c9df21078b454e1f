import { github } from "./github.js";
import type { Provider } from "./types.js";

export * from "./types.js";

/** Every provider an endpoint may name. */
export const providers: Record<string, Provider> = {
  github,
};

export const providerNames = Object.keys(providers);

export function getProvider(name: string): Provider | undefined {
  return Object.hasOwn(providers, name) ? providers[name] : undefined;
}
