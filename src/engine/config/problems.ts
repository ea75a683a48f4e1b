/** The problem list of one parse: every bad input is collected (secrets shown as `***`), then thrown as one error. */
import { InputError, type InputProblem } from '../errors.js';
import type { ParseResult } from '../reference.js';
import { suspiciousCharacter } from './characters.js';
import { SECRET_INPUTS } from './model.js';

/** Collects problems; redacts secret values. */
export class Problems {
  readonly list: InputProblem[] = [];
  /** Inputs with an invisible or look-alike character: that problem is the one to fix, the others follow from it. */
  private readonly badCharacters = new Set<string>();

  /** Records an invisible or look-alike character in `value`, once per input; true when there was one. */
  characters(input: string, value: string, asciiOnly = true, what = ''): boolean {
    if (this.badCharacters.has(input)) return true;
    const problem = suspiciousCharacter(value, { asciiOnly });
    if (problem === undefined) return false;
    this.add(input, value, `${what}${problem}`);
    this.badCharacters.add(input);
    return true;
  }

  add(input: string, value: string, message: string): void {
    if (this.badCharacters.has(input)) return;
    const secret = (SECRET_INPUTS as readonly string[]).includes(input);
    this.list.push({ input, value: secret && value !== '' ? '***' : value, message });
  }

  /** Records a failed check; returns the value of a good one. */
  check<T>(input: string, value: string, result: ParseResult<T>): T | undefined {
    if (result.ok) return result.value;
    this.add(input, value, result.error);
    return undefined;
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw new InputError(this.list);
  }
}
