import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");

it("the .env that `pnpm keys > .env` writes is git-ignored (it holds every production secret)", () => {
  // `git check-ignore` exits 0 and prints the path when the path is ignored, 1 when it is not.
  const ignored = (path: string) => {
    try {
      return execFileSync("git", ["check-ignore", path], { cwd: root, encoding: "utf8" }).trim();
    } catch {
      return "";
    }
  };
  expect(ignored(".env")).toBe(".env");
  expect(ignored(".env.production")).toBe(".env.production");
  expect(ignored(".data/broker.env")).toBe(".data/broker.env");
});
