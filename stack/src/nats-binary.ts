import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * The oldest nats-server the broker runs on. Auth callout arrived in 2.10, consumer pause in
 * 2.11, atomic batch publish (and the R3 fixes Jepsen's 2.12.1 analysis was run against) in 2.12.
 */
export const MIN_NATS_VERSION = [2, 12, 0] as const;
/** The release fetched from GitHub when nothing else provides one (non-Debian systems). */
export const NATS_RELEASE_VERSION = "2.15.1";
/**
 * The Debian suite whose nats-server package is fetched on apt systems: testing (forky) ships
 * 2.15.x; stable (trixie) ships 2.10.27, which is too old.
 */
export const NATS_DEBIAN_SUITE = "forky";

type Log = (msg: string) => void;

/** `${XDG_CACHE_HOME:-~/.cache}/webhook-broker/bin/nats-server`. */
export function natsCachePath(): string {
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(cacheHome, "webhook-broker", "bin", "nats-server");
}

/** Parses the output of `nats-server --version` ("nats-server: v2.10.27"). */
export function parseNatsVersion(output: string): [number, number, number] | undefined {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(output);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function isSupportedNatsVersion(v: readonly [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) {
    if (v[i]! !== MIN_NATS_VERSION[i]) return v[i]! > MIN_NATS_VERSION[i]!;
  }
  return true;
}

/** Runs `<binary> --version`; undefined when it cannot be run or prints no version. */
export async function natsServerVersion(binary: string): Promise<[number, number, number] | undefined> {
  try {
    const { stdout, stderr } = await run(binary, ["--version"], { timeout: 15_000 });
    return parseNatsVersion(stdout + stderr);
  } catch {
    return undefined;
  }
}

const fmt = (v: readonly number[]) => v.join(".");

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && (await isExecutable(join(dir, name)))) return join(dir, name);
  }
  return undefined;
}

/**
 * Returns the path of a nats-server >= {@link MIN_NATS_VERSION}, looking in this order:
 * 1. `NATS_SERVER_BIN` (an error if it is set but unusable: an explicit choice is not overridden);
 * 2. `nats-server` on PATH, if its version is new enough;
 * 3. the project cache, {@link natsCachePath};
 * 4. a fetch into that cache: on Debian/apt systems the forky package via apt (without
 *    touching the system's apt state), elsewhere the official release archive from GitHub.
 */
export async function ensureNatsServer(log: Log = (msg) => console.error(msg)): Promise<string> {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) {
    const v = await natsServerVersion(fromEnv);
    if (!v) throw new Error(`NATS_SERVER_BIN=${fromEnv} cannot be run (or prints no version)`);
    if (!isSupportedNatsVersion(v)) {
      throw new Error(`NATS_SERVER_BIN=${fromEnv} is nats-server ${fmt(v)}; ${fmt(MIN_NATS_VERSION)} or newer is needed`);
    }
    return fromEnv;
  }

  const onPath = await findOnPath("nats-server");
  if (onPath) {
    const v = await natsServerVersion(onPath);
    if (v && isSupportedNatsVersion(v)) return onPath;
    log(`ignoring ${onPath}: version ${v ? fmt(v) : "unknown"}, need >= ${fmt(MIN_NATS_VERSION)}`);
  }

  const cached = natsCachePath();
  if (await isExecutable(cached)) {
    const v = await natsServerVersion(cached);
    if (v && isSupportedNatsVersion(v)) return cached;
    log(`ignoring cached ${cached}: version ${v ? fmt(v) : "unknown"}`);
  }

  log(`nats-server >= ${fmt(MIN_NATS_VERSION)} not found (NATS_SERVER_BIN unset, none on PATH, none in ${cached}); fetching one`);
  const work = await mkdtemp(join(tmpdir(), "wb-nats-fetch-"));
  try {
    let fetched: string;
    if ((await findOnPath("apt-get")) && (await findOnPath("dpkg"))) {
      fetched = await fetchWithApt(work, log);
    } else {
      fetched = await fetchRelease(work, log);
    }
    const v = await natsServerVersion(fetched);
    if (!v || !isSupportedNatsVersion(v)) {
      throw new Error(`the fetched nats-server reports version ${v ? fmt(v) : "unknown"}`);
    }
    await mkdir(join(cached, ".."), { recursive: true });
    // Copy beside the target, then rename: a concurrent reader never sees half a binary.
    const partial = `${cached}.${process.pid}.partial`;
    await copyFile(fetched, partial);
    await chmod(partial, 0o755);
    await rename(partial, cached);
    log(`installed nats-server ${fmt(v)} at ${cached}`);
    return cached;
  } catch (err) {
    throw new Error(
      `could not fetch nats-server: ${(err as Error).message}\n` +
        `Install nats-server >= ${fmt(MIN_NATS_VERSION)} yourself (GitHub releases of nats-io/nats-server, ` +
        `Homebrew, or the official "nats" Docker image) and set NATS_SERVER_BIN to its path.`,
      { cause: err },
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface AptSource {
  uri: string;
  signedBy?: string;
}

/**
 * Finds the main Debian archive in the system's apt sources (deb822 `*.sources` files, then
 * one-line `*.list` / sources.list), so no archive host name is written into this repository.
 * "Main" = a `deb` entry with a plain suite (no `-security`/`-updates` suffix).
 */
export async function findDebianArchive(etcApt = "/etc/apt"): Promise<AptSource | undefined> {
  const partsDir = join(etcApt, "sources.list.d");
  const parts = await readdir(partsDir).catch(() => [] as string[]);
  for (const file of parts.filter((f) => f.endsWith(".sources")).sort()) {
    const text = await readFile(join(partsDir, file), "utf8").catch(() => "");
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (name: string) =>
        new RegExp(`^${name}:[ \\t]*(.*)$`, "mi").exec(stanza.replace(/^#.*$/gm, ""))?.[1]?.trim();
      if (!(field("Types") ?? "").split(/\s+/).includes("deb")) continue;
      if (field("Enabled")?.toLowerCase() === "no") continue;
      const suites = (field("Suites") ?? "").split(/\s+/);
      const uri = (field("URIs") ?? "").split(/\s+/)[0];
      if (uri && suites.some((s) => s && !s.includes("-") && !s.includes("/"))) {
        return { uri, signedBy: field("Signed-By") };
      }
    }
  }
  const lists = [join(etcApt, "sources.list"), ...parts.filter((f) => f.endsWith(".list")).sort().map((f) => join(partsDir, f))];
  for (const file of lists) {
    const text = await readFile(file, "utf8").catch(() => "");
    for (const line of text.split("\n")) {
      // deb [options] uri suite components...
      const m = /^\s*deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)/.exec(line);
      if (!m || m[3]!.includes("-")) continue;
      const signedBy = /signed-by=(\S+)/.exec(m[1] ?? "")?.[1];
      return { uri: m[2]!, signedBy };
    }
  }
  return undefined;
}

/**
 * Debian bookworm ships nats-server 2.9, trixie 2.10.27, forky (testing) 2.15.x. Download the
 * {@link NATS_DEBIAN_SUITE} package with a throw-away sources list, package lists and cache (the
 * system's apt set-up is not changed), and unpack it: usr/sbin/nats-server is a static Go binary
 * with no dependencies, so a package from a newer suite runs on an older system.
 */
async function fetchWithApt(work: string, log: Log): Promise<string> {
  const source = await findDebianArchive();
  if (!source) throw new Error("no Debian archive found in /etc/apt sources to fetch nats-server from");
  const signed = source.signedBy ? ` [signed-by=${source.signedBy}]` : "";
  const suite = NATS_DEBIAN_SUITE;
  const list = join(work, `${suite}.list`);
  await writeFile(list, `deb${signed} ${source.uri} ${suite} main\n`);
  await mkdir(join(work, "lists", "partial"), { recursive: true });
  await mkdir(join(work, "cache", "archives", "partial"), { recursive: true });
  const aptOptions = [
    "-o", `Dir::Etc::SourceList=${list}`,
    "-o", "Dir::Etc::SourceParts=/dev/null",
    "-o", `Dir::State::Lists=${join(work, "lists")}`,
    "-o", `Dir::Cache=${join(work, "cache")}`,
    // The temporary directory is private to this user; apt's _apt sandbox user could not write it.
    "-o", "APT::Sandbox::User=root",
    "-q",
  ];
  log(`apt: reading ${suite} package lists from ${source.uri} into a temporary directory`);
  await run("apt-get", [...aptOptions, "update"], { cwd: work, timeout: 300_000 });
  log(`apt: downloading the nats-server package (${suite})`);
  await run("apt-get", [...aptOptions, "download", "nats-server"], { cwd: work, timeout: 300_000 });
  const deb = (await readdir(work)).find((f) => /^nats-server_.*\.deb$/.test(f));
  if (!deb) throw new Error("apt-get download produced no nats-server .deb");
  log(`apt: unpacking ${deb}`);
  await run("dpkg", ["-x", join(work, deb), join(work, "root")], { timeout: 120_000 });
  return join(work, "root", "usr", "sbin", "nats-server");
}

/** The official release archive for this platform (untested here: these machines use apt). */
async function fetchRelease(work: string, log: Log): Promise<string> {
  const os = { linux: "linux", darwin: "darwin", freebsd: "freebsd" }[process.platform as string];
  const arch = { x64: "amd64", arm64: "arm64" }[process.arch as string];
  if (!os || !arch) throw new Error(`no release archive known for ${process.platform}/${process.arch}`);
  const name = `nats-server-v${NATS_RELEASE_VERSION}-${os}-${arch}`;
  const url = `https://github.com/nats-io/nats-server/releases/download/v${NATS_RELEASE_VERSION}/${name}.tar.gz`;
  log(`downloading ${url}`);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const archive = join(work, `${name}.tar.gz`);
  await writeFile(archive, Buffer.from(await res.arrayBuffer()));
  await run("tar", ["-xzf", archive, "-C", work], { timeout: 120_000 });
  return join(work, name, "nats-server");
}
