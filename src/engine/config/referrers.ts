/** The `referrers` input: which referrers to copy with an image (none, all, or some artifact types), and how far. */
import { quote, type ParseResult } from '../reference.js';

/** The `referrers` input: none, all, or the artifact types to copy (lower case). */
export type ReferrerSelection = 'none' | 'all' | readonly string[];

/** How far discovery goes for one image (stated in the README). */
export const REFERRER_LIMITS = {
  /** Levels below the image: 1 = its referrers, 2 = a signature of an SBOM, 3 = one more. */
  depth: 3,
  /** Referrers per image, all levels together. */
  count: 100,
  /** Pages of one referrers API answer. */
  pages: 20,
} as const;

/** RFC 6838 type/subtype. */
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;

export function checkReferrers(text: string): ParseResult<ReferrerSelection> {
  const items = text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
  const keywords = items.filter((i) => ['none', 'all'].includes(i.toLowerCase()));
  if (keywords.length === items.length && items.length === 1) {
    return { ok: true, value: items[0]!.toLowerCase() === 'all' ? 'all' : 'none' };
  }
  if (keywords.length > 0) {
    return {
      ok: false,
      error: "must be 'none', 'all' or a list of artifact types, not a mix: remove 'none'/'all' or the types",
    };
  }
  const bad = items.filter((i) => !MEDIA_TYPE.test(i));
  if (items.length === 0 || bad.length > 0) {
    return {
      ok: false,
      error: `must be 'none' (default), 'all', or a comma-separated list of artifact types such as application/vnd.cncf.notary.signature, application/spdx+json${bad.length ? `; not a media type: ${bad.map(quote).join(', ')}` : ''}`,
    };
  }
  return { ok: true, value: [...new Set(items.map((i) => i.toLowerCase()))] };
}
