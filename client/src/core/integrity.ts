/**
 * SHA-256 checks of segments against the hashes the origin publishes. WebCrypto when the page has
 * it; `@noble/hashes` otherwise: `crypto.subtle` exists only in secure contexts, so a page served
 * over plain http:// from a host other than localhost has none, and P2P must still verify there.
 */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";

const HEX64 = /^[0-9a-f]{64}$/;

/** Tag the origin plugin puts before each segment URI in media playlists (docs/CONTRACTS.md). */
export const HASH_TAG = "EXT-X-MESHCDN-SHA256";

export function isSha256Hex(s: unknown): s is string {
  return typeof s === "string" && HEX64.test(s);
}

/** Which implementation `sha256Hex` uses here: "webcrypto" in secure contexts, else "js". */
export function sha256Backend(): "webcrypto" | "js" {
  return typeof globalThis.crypto?.subtle?.digest === "function" ? "webcrypto" : "js";
}

export async function sha256Hex(data: ArrayBuffer | Uint8Array, backend = sha256Backend()): Promise<string> {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const digest = backend === "webcrypto" ? new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", bytes as BufferSource)) : nobleSha256(bytes);
  let out = "";
  for (const b of digest) out += b.toString(16).padStart(2, "0");
  return out;
}

export type VerifyResult = { ok: true } | { ok: false; actualSha256: string };

/** Hashes `data` and compares with the origin's `expectedSha256` (64 lower-case hex). */
export async function verifySegment(data: ArrayBuffer | Uint8Array, expectedSha256: string): Promise<VerifyResult> {
  const actualSha256 = await sha256Hex(data);
  return actualSha256 === expectedSha256 ? { ok: true } : { ok: false, actualSha256 };
}

/**
 * The segment hash from an hls.js fragment's `tagList`. hls.js keeps tags it does not know as
 * `[name, value]` pairs on the fragment that follows them, so `#EXT-X-MESHCDN-SHA256:<hex>`
 * arrives as `["EXT-X-MESHCDN-SHA256", "<hex>"]`. Returns null when absent or malformed.
 */
export function hashFromTagList(tagList: readonly (readonly string[])[] | undefined): string | null {
  if (!tagList) return null;
  for (const tag of tagList) {
    if (tag[0] === HASH_TAG) {
      const value = (tag[1] ?? "").trim();
      return isSha256Hex(value) ? value : null;
    }
  }
  return null;
}
