/** Edit distance between two names, for "did you mean" on a misspelt input or flag. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The known name closest to `name`, when it is close enough to be a typo. */
export function closest(name: string, known: readonly string[], maxDistance = 3): string | undefined {
  const best = known.map((k) => ({ k, d: editDistance(k, name) })).sort((a, b) => a.d - b.d)[0];
  return best && best.d <= maxDistance ? best.k : undefined;
}
