/** `secret-key rotate`: every sealed secret moves to the new key, all at once or not at all. */
import { randomBytes } from "node:crypto";
import { createEndpoint, createUser, ensureSigningKey, getEndpoint, saveGitHubTokens, SecretBox } from "@wb/authz";
import { expect, it } from "vitest";
import { localEnvPath, readEnvFile, writeEnvFile } from "../local-env.js";
import { useCliStack } from "./testing.js";

const t = useCliStack("clikey");

it("re-seals every endpoint secret and signing key under the new key, and moves broker.env along", async () => {
  const old = new SecretBox(t.secretKey);
  const owner = await createUser(t.database.db, { name: `o${randomBytes(4).toString("hex")}` });
  const { endpoint, secret } = await createEndpoint(t.database.db, old, { path: `gh/${randomBytes(4).toString("hex")}`, provider: "github", owner: { userId: owner.id } });
  await ensureSigningKey(t.database.db, old);
  await saveGitHubTokens(t.database.db, old, owner.id, { accessToken: "gho_access", refreshToken: "ghr_refresh", scope: "", expiresAt: null, refreshExpiresAt: null });
  const envPath = localEnvPath({ WB_DATA_DIR: t.dataDir });
  await writeEnvFile(envPath, { SECRET_KEY: t.secretKey.toString("base64"), OTHER: "kept" });

  const next = randomBytes(32);
  const r = await t.cliJson(["secret-key", "rotate", "--new-key", next.toString("base64")]);
  expect(r).toMatchObject({ secret_key: next.toString("base64"), endpoints: 1, signing_keys: 1, github_tokens: 1, updated: envPath });

  const row = (await getEndpoint(t.database.db, endpoint.id))!;
  expect(new SecretBox(next).open(row.secretEnc)).toBe(secret);
  expect(() => old.open(row.secretEnc)).toThrow();
  const [key] = await t.query<{ private_key_enc: string }>("select private_key_enc from signing_keys");
  expect(() => new SecretBox(next).open(key!.private_key_enc)).not.toThrow();
  const [gh] = await t.query<{ access_token_enc: string }>("select access_token_enc from github_tokens");
  expect(new SecretBox(next).open(gh!.access_token_enc)).toBe("gho_access");
  expect(readEnvFile(envPath)).toEqual({ SECRET_KEY: next.toString("base64"), OTHER: "kept" });

  // The old key no longer opens anything: a second rotation from it changes nothing.
  const again = await t.cli(["secret-key", "rotate"]);
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/does not open under the current SECRET_KEY; nothing was changed/);
  expect(new SecretBox(next).open((await getEndpoint(t.database.db, endpoint.id))!.secretEnc)).toBe(secret);
});
