/**
 * How deeply a JSON text nests, counted without parsing (one pass over the bytes, strings
 * skipped), stopping as soon as `limit` is exceeded. A JSON payload nested deeper than the
 * broker's limit is returned base64 instead of inline: common parsers refuse deep documents
 * (jq 1.6 stops at 256 levels, Python's json at about 1,000 by its recursion limit), and one
 * such payload inline would make the whole page unreadable for them.
 */
export function exceedsDepth(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
