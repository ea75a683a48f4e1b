/** "Did you mean" for a misspelt flag. */
import { editDistance } from '../../engine/index.js';

/** The known name closest to `name`, when it is close enough to be a typo. */
export function closest(name: string, known: readonly string[], maxDistance = 3): string | undefined {
  const best = known.map((k) => ({ k, d: editDistance(k, name) })).sort((a, b) => a.d - b.d)[0];
  return best && best.d <= maxDistance ? best.k : undefined;
}
