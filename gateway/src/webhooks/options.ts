import { BrokerError } from "@wb/authz";
import { getProvider, providerNames } from "./index.js";

/** Checks an endpoint's provider and its options at registration time. */
export function validateProviderOptions(provider: string, options: Record<string, unknown>): Record<string, unknown> {
  const p = getProvider(provider);
  if (!p) {
    throw new BrokerError("unsupported_provider", `unknown provider ${provider}; known: ${providerNames.join(", ")}`);
  }
  const schema = (p as { optionsSchema?: { safeParse(v: unknown): { success: boolean; data?: unknown; error?: { issues: { path: PropertyKey[]; message: string }[] } } } }).optionsSchema;
  if (!schema) return options;
  const result = schema.safeParse(options);
  if (!result.success) {
    throw new BrokerError(
      "invalid_request",
      `provider_options: ${result.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return result.data as Record<string, unknown>;
}
