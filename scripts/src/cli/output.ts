/** Anything with write(string): process.stdout, or a test's collector. */
export interface Sink {
  write(chunk: string): unknown;
}

export type Cell = string | number | boolean | Date | null | undefined;

/**
 * Human output is aligned tables and short lines on stdout; warnings go to stderr so that
 * stdout stays clean for pipes. `--json` output is one JSON document on stdout.
 */
export class Output {
  constructor(
    readonly stdout: Sink,
    readonly stderr: Sink,
  ) {}

  json(value: unknown): void {
    this.stdout.write(JSON.stringify(value, null, 2) + "\n");
  }

  line(text: string): void {
    this.stdout.write(text + "\n");
  }

  warn(text: string): void {
    this.stderr.write(`warning: ${text}\n`);
  }

  note(text: string): void {
    this.stderr.write(text + "\n");
  }

  /** Columns are the keys of `columns`; an empty list prints `(no <what>)`. */
  table<T>(rows: readonly T[], columns: Record<string, (row: T) => Cell>, what: string): void {
    if (rows.length === 0) {
      this.line(`(no ${what})`);
      return;
    }
    const headers = Object.keys(columns);
    const cells = rows.map((row) => Object.values(columns).map((get) => formatCell(get(row))));
    const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
    const render = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
    this.line(render(headers.map((h) => h.toUpperCase())));
    for (const r of cells) this.line(render(r));
  }

  /** One record as `key: value` lines. */
  record(fields: Record<string, Cell>): void {
    const width = Math.max(...Object.keys(fields).map((k) => k.length));
    for (const [k, v] of Object.entries(fields)) this.line(`${(k + ":").padEnd(width + 1)} ${formatCell(v)}`);
  }
}

export function formatCell(v: Cell): string {
  if (v === null || v === undefined) return "-";
  if (v instanceof Date) return v.toISOString().replace(/\.\d{3}Z$/, "Z");
  if (typeof v === "boolean") return v ? "yes" : "no";
  return String(v);
}

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
