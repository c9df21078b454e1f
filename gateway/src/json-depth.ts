import { isUtf8 } from "node:buffer";

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;

/**
 * Whether `bytes` is one JSON text (RFC 8259, exactly what `JSON.parse` accepts) in valid UTF-8,
 * nested no deeper than `limit`: the same answer as decoding with a fatal UTF-8 decoder, then
 * counting the nesting and `JSON.parse(text)` succeeding (json-depth.test.ts holds it to that),
 * without building a string or a value. A payload nested deeper than the broker's limit is returned base64 instead of inline:
 * common parsers refuse deep documents (jq 1.6 stops at 256 levels, Python's json at about
 * 1,000), and one such payload inline would make the whole page unreadable for them.
 * The pull path checks every payload it inlines this way: for a 7 KB GitHub push, parsing
 * it only to throw the result away was most of the page's CPU and garbage.
 */
export function isJsonWithinDepth(bytes: Uint8Array, limit: number): boolean {
  return scanJson(bytes, limit) && isUtf8(bytes);
}

function skipWhitespace(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** Bytes that stand for themselves inside a JSON string: not a quote, a backslash or a control character. */
const PLAIN = new Uint8Array(256).map((_, c) => (c >= 0x20 && c !== QUOTE && c !== 0x5c ? 1 : 0));

/** The index after the string that opens at `i` (a quote), or -1 when it is not a valid JSON string. */
function skipString(b: Uint8Array, i: number): number {
  const n = b.length;
  i++;
  for (;;) {
    while (i < n && PLAIN[b[i]!] === 1) i++;
    if (i >= n) return -1;
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c !== 0x5c) return -1; // a control character
    const e = b[i + 1];
    if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) i += 2;
    else if (e === 0x75 && isHex(b[i + 2]) && isHex(b[i + 3]) && isHex(b[i + 4]) && isHex(b[i + 5])) i += 6;
    else return -1;
  }
}

/** The index after the number that starts at `i`, or -1. */
function skipNumber(b: Uint8Array, i: number): number {
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i])) while (isDigit(b[i])) i++;
  else return -1;
  if (b[i] === 0x2e) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  return i;
}

/** The index after `word` at `i`, or -1. */
function skipWord(b: Uint8Array, i: number, word: readonly number[]): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** The grammar and depth check of isJsonWithinDepth, iterative (no recursion, bounded memory). */
function scanJson(b: Uint8Array, limit: number): boolean {
  const n = b.length;
  // What each open container is: its opening byte.
  const open = new Uint8Array(limit);
  let depth = 0;
  let i = skipWhitespace(b, 0);
  value: for (;;) {
    // A value starts at i.
    const c = b[i];
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth === limit) return false;
      open[depth++] = c;
      i = skipWhitespace(b, i + 1);
      if (b[i] === (c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        depth--;
        i++;
      } else if (c === OPEN_ARRAY) continue;
      else {
        i = memberValue(b, i);
        if (i < 0) return false;
        continue;
      }
    } else if (c === QUOTE) i = skipString(b, i);
    else if (c === 0x2d || isDigit(c)) i = skipNumber(b, i);
    else if (c === 0x74) i = skipWord(b, i, TRUE);
    else if (c === 0x66) i = skipWord(b, i, FALSE);
    else if (c === 0x6e) i = skipWord(b, i, NULL);
    else return false;
    if (i < 0) return false;
    // After a value: a comma, the end of its container, or the end of the text.
    for (;;) {
      i = skipWhitespace(b, i);
      if (depth === 0) return i === n;
      const top = open[depth - 1];
      const d = b[i];
      if (d === 0x2c) {
        i = skipWhitespace(b, i + 1);
        if (top === OPEN_OBJECT) {
          i = memberValue(b, i);
          if (i < 0) return false;
        }
        continue value;
      }
      if (d !== (top === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) return false;
      depth--;
      i++;
    }
  }
}

/** From an object member's key at `i` to the start of its value, or -1. */
function memberValue(b: Uint8Array, i: number): number {
  if (b[i] !== QUOTE) return -1;
  i = skipString(b, i);
  if (i < 0) return -1;
  i = skipWhitespace(b, i);
  if (b[i] !== 0x3a) return -1;
  return skipWhitespace(b, i + 1);
}
