import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { spawnNode, waitForAnnouncedPort } from "./processes.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "wb-spawn-node-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A child that writes 4 MiB to stdout as pino does (synchronous writes, retried while the pipe is
 * full: it hangs once the pipe's buffer is full and unread, as the gateway's logger did), then `after`.
 */
async function chatty(name: string, after: string) {
  const script = join(dir, `${name}.mjs`);
  await writeFile(
    script,
    `import { writeSync } from "node:fs";
const line = "x".repeat(1023) + "\\n";
for (let i = 0; i < 4096; i++) {
  for (let done = 0; done < line.length; ) {
    try { done += writeSync(1, line.slice(done)); } catch (e) { if (e.code !== "EAGAIN") throw e; }
  }
}
${after}
setInterval(() => {}, 1000);
`,
  );
  return spawnNode({ name, script, env: {}, logPath: join(dir, `${name}.log`) });
}

it("reads a child's stdout into its log when nobody else does, so a chatty child (the gateway's logs) never blocks on a full pipe", async () => {
  const child = await chatty("unread", `process.stderr.write("written\\n");`);
  try {
    // (stderr goes to the log straight, stdout through the parent: "written" may land before the last of the x's)
    await expect.poll(async () => (await readFile(child.logPath, "utf8")).length, { timeout: 20_000 }).toBe(4096 * 1024 + "written\n".length);
    expect(await readFile(child.logPath, "utf8")).toContain("written\n");
  } finally {
    await child.stop(2000);
  }
});

it("still sees the port a child announces on stdout, and logs it", async () => {
  const child = await chatty("announcing", `process.stdout.write("listening 4242\\n");`);
  try {
    expect(await waitForAnnouncedPort(child, 20_000)).toBe(4242);
    await expect.poll(() => readFile(child.logPath, "utf8"), { timeout: 10_000 }).toMatch(/\nlistening 4242\n$/);
  } finally {
    await child.stop(2000);
  }
});
