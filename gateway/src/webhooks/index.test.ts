import { describe, expect, it } from "vitest";
import { getProvider, providerNames, providers } from "./index.js";

describe("provider registry", () => {
  it("holds every provider under its own name", () => {
    expect(providerNames.sort()).toEqual(["bitbucket", "github", "gitlab", "hmac", "jira", "none", "shopify", "slack", "standard-webhooks", "stripe"]);
    for (const [name, provider] of Object.entries(providers)) expect(provider.name).toBe(name);
  });

  it("gives each provider an options schema that accepts its defaults", () => {
    for (const provider of Object.values(providers)) {
      const options = provider.name === "hmac" ? { header: "X-Signature" } : {};
      expect(provider.optionsSchema.safeParse(options).success, provider.name).toBe(true);
      expect(provider.optionsSchema.safeParse({ no_such_option: 1 }).success, provider.name).toBe(false);
    }
  });

  it("does not resolve unknown names or inherited properties", () => {
    expect(getProvider("github")?.name).toBe("github");
    for (const name of ["svix", "constructor", "__proto__", "toString", ""]) expect(getProvider(name), name).toBeUndefined();
  });
});
