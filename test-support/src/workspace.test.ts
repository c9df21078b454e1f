/**
 * The workspace's package boundaries: each package is reached only through its entry
 * (`src/index.ts`), and the dependency graph between packages has no cycles
 * (scripts → gateway → authz; scripts → stack; test-support → gateway, authz, stack).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(new URL("../..", import.meta.url).pathname);

interface Pkg {
  dir: string;
  name: string;
  exports: unknown;
  deps: string[];
}

function workspacePackages(): Pkg[] {
  const yaml = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8");
  const dirs = [...yaml.matchAll(/^\s+-\s+(\S+)\s*$/gm)].map((m) => m[1]!);
  return dirs.map((dir) => {
    const json = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
    const all = { ...json.dependencies, ...json.devDependencies, ...json.peerDependencies, ...json.optionalDependencies };
    return { dir, name: json.name, exports: json.exports, deps: Object.keys(all).filter((d) => d.startsWith("@wb/")) };
  });
}

/** The first dependency cycle found, as a path of package names, or undefined. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === "done") return undefined;
    if (state.get(n) === "open") return [...path.slice(path.indexOf(n)), n];
    state.set(n, "open");
    path.push(n);
    for (const d of graph.get(n) ?? []) {
      const cycle = visit(d);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(n, "done");
    return undefined;
  };
  for (const n of graph.keys()) {
    const cycle = visit(n);
    if (cycle) return cycle;
  }
  return undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === "node_modules" || e.name.startsWith(".")) return [];
    const p = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : /\.[cm]?ts$/.test(e.name) ? [p] : [];
  });
}

const packages = workspacePackages();

describe("workspace packages", () => {
  it("finds a cycle when there is one (the check can fail)", () => {
    const graph = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
    ]);
    expect(findCycle(graph)).toEqual(["a", "b", "c", "a"]);
    expect(findCycle(new Map([["a", ["b"]], ["b", []]]))).toBeUndefined();
  });

  it("depend on each other without cycles (devDependencies included)", () => {
    const graph = new Map(packages.map((p) => [p.name, p.deps]));
    expect(findCycle(graph)).toBeUndefined();
    expect(graph.get("@wb/authz")?.filter((d) => d !== "@wb/stack")).toEqual([]);
    expect(graph.get("@wb/stack")).toEqual([]);
    for (const p of packages) if (p.name !== "@wb/scripts") expect(p.deps, p.name).not.toContain("@wb/scripts");
  });

  it("each expose exactly one entry, src/index.ts", () => {
    for (const p of packages) {
      expect(p.exports, p.name).toEqual({ ".": "./src/index.ts" });
      expect(existsSync(join(root, p.dir, "src/index.ts")), p.name).toBe(true);
    }
  });

  it("import other packages only through their entry, never by path", () => {
    const deep: string[] = [];
    for (const p of packages) {
      for (const file of sourceFiles(join(root, p.dir))) {
        const text = readFileSync(file, "utf8");
        for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)) {
          const spec = m[1]!;
          const escapes = spec.startsWith(".") && relative(join(root, p.dir), resolve(dirname(file), spec)).split(sep)[0] === "..";
          if (/^@wb\/[^/]+\//.test(spec) || escapes) deep.push(`${relative(root, file)}: ${spec}`);
        }
      }
    }
    expect(deep).toEqual([]);
  });
});
