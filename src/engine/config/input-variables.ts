/**
 * Which `INPUT_*` environment variables are inputs the user meant. A runner turns each `with:` key into `INPUT_<KEY>`,
 * but a job's `env:` can set `INPUT_SOMETHING` too (for another tool), and the two cannot be told apart. So a name
 * that is close to a real input (`target-tag`, `timout`, `TARGET_TAGS`) is a misspelt input and fails the run, since
 * it would otherwise run with the default; any other unknown name is only a warning. Values are never shown: a
 * misspelt `client-secrets` holds a secret.
 */
import type { InputProblem } from '../errors.js';
import { NEUTRAL_INPUT_VARIABLE_WORDING, type InputVariableWording } from '../ports.js';

export interface InputVariableCheck {
  /** Near misses of real inputs: fail the run with these. */
  problems: InputProblem[];
  /** Other unknown `INPUT_*` variables: warn and go on. */
  warnings: string[];
}

/** The runner's rule for the variable of an input: `INPUT_` + upper case, spaces to `_`, dashes kept. */
export function inputVariableName(input: string): string {
  return `INPUT_${input.replace(/ /g, '_').toUpperCase()}`;
}

/** Sorts the `INPUT_*` names of an environment into known inputs, near misses (problems) and others (warnings). */
export function checkInputVariables(
  variableNames: Iterable<string>,
  inputs: readonly string[],
  wording: InputVariableWording = NEUTRAL_INPUT_VARIABLE_WORDING,
): InputVariableCheck {
  const known = new Set(inputs.map(inputVariableName));
  const problems: InputProblem[] = [];
  const warnings: string[] = [];
  for (const key of [...variableNames].sort()) {
    if (!key.startsWith('INPUT_') || known.has(key)) continue;
    const name = key.slice('INPUT_'.length).toLowerCase();
    const guess = nearestInput(name, inputs);
    if (guess !== undefined) {
      problems.push({
        input: name,
        value: '***',
        message: `is not an input of this ${wording.step}; did you mean '${guess}'? ${wording.rename}`,
      });
    } else {
      warnings.push(
        `${key} is set, but '${name}' is not an input of this ${wording.step}: ignored. ${wording.ignored}`,
      );
    }
  }
  return { problems, warnings };
}

/** The real input `name` is a near miss of: same with `_` for `-`, or within a small edit distance. */
export function nearestInput(name: string, inputs: readonly string[]): string | undefined {
  const normal = name.replace(/_/g, '-');
  let best: { input: string; d: number } | undefined;
  for (const input of inputs) {
    if (input === normal) return input;
    const d = editDistance(normal, input);
    if (best === undefined || d < best.d) best = { input, d };
  }
  if (best === undefined) return undefined;
  // One slip in a short name, two in a longer one; a shorter name is something else (`INPUT_TOKEN` is not `auth`).
  const allowed = Math.min(normal.length, best.input.length) < 6 ? 1 : 2;
  return best.d <= allowed ? best.input : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
