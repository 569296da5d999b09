/**
 * The WebTorrent tracker protocol sends 20-byte ids (`info_hash`, `peer_id`, `offer_id`) as
 * "binary strings": a 20-character JSON string whose every char is U+0000..U+00FF, one byte each.
 * The bootstrap carries info hashes as 40 lower-case hex chars; these helpers convert between them.
 */

const HEX40 = /^[0-9a-f]{40}$/;

/** 40 hex chars -> 20-char binary string. Throws on anything else. */
export function hexToBinaryString(hex: string): string {
  if (!HEX40.test(hex)) throw new Error(`expected 40 lower-case hex chars, got ${JSON.stringify(hex)}`);
  let out = "";
  for (let i = 0; i < 40; i += 2) out += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return out;
}

/** 20-char binary string -> 40 hex chars; null when it is not one. */
export function binaryStringToHex(s: string): string | null {
  if (!isBinaryId(s)) return null;
  let out = "";
  for (let i = 0; i < s.length; i++) out += s.charCodeAt(i).toString(16).padStart(2, "0");
  return out;
}

/** True for a 20-char string of chars U+0000..U+00FF (a valid WebTorrent id). */
export function isBinaryId(s: unknown): s is string {
  if (typeof s !== "string" || s.length !== 20) return false;
  for (let i = 0; i < 20; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

/** A fresh random 20-byte id as a binary string, with a client prefix like WebTorrent's `-WW0001-`. */
export function randomBinaryId(prefix = ""): string {
  const bytes = new Uint8Array(20 - prefix.length);
  globalThis.crypto.getRandomValues(bytes);
  let out = prefix;
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}
