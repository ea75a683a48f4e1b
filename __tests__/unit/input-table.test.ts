/**
 * The input table is the one source of truth: action.yml's inputs, the CLI's flags (and what --help says of them) and
 * README's tables must match it. A new input that misses one of them fails here.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { INPUT_TABLE } from '../../src/engine/index.js';
import { FLAGS, flagOf, parseFlags } from '../../src/hosts/cli/flags.js';
import { EXIT_CODES, helpText } from '../../src/hosts/cli/help.js';

const root = new URL('../../../', import.meta.url);
const actionYml = parse(readFileSync(new URL('action.yml', root), 'utf8')) as {
  inputs: Record<string, { required?: boolean; default?: string; description?: string }>;
};
const readme = readFileSync(new URL('README.md', root), 'utf8');

/** The rows of the first Markdown table after a heading, as cells. */
function table(heading: string): string[][] {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`README has no heading ${heading}`);
  const rest = readme.slice(start).split('\n');
  const first = rest.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of rest.slice(first)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows.slice(2);
}

describe('action.yml', () => {
  it('declares exactly the inputs of the table', () => {
    expect(Object.keys(actionYml.inputs).sort()).toEqual(INPUT_TABLE.map((i) => i.name).sort());
  });

  it.each(INPUT_TABLE.map((i) => [i.name, i] as const))(
    '%s: same required-ness and default',
    (name, input) => {
      const declared = actionYml.inputs[name]!;
      expect(declared.required ?? false).toBe(input.required);
      expect(declared.default ?? '').toBe(input.default);
      expect(declared.description?.length ?? 0).toBeGreaterThan(10);
    },
  );
});

describe('the CLI', () => {
  const help = helpText().split('\n');

  it.each(INPUT_TABLE.map((i) => [i.name, i] as const))(
    '%s: a long flag of the same name that sets it, with its default and required-ness in --help',
    (name, input) => {
      const flag = FLAGS.find((f) => f.long === flagOf(name))!;
      expect(flag).toBeDefined();
      expect(flag.input).toBe(name);
      const parsed =
        flag.type === 'boolean' ? parseFlags([`--${flag.long}`]) : parseFlags([`--${flag.long}`, 'value-1']);
      expect(parsed.problems).toEqual([]);
      expect(parsed.inputs[name]).toBe(flag.type === 'boolean' ? 'true' : 'value-1');

      const line = help.find((l) => new RegExp(`^ +(-\\w, )? *--${flag.long}(?![\\w-])`).test(l))!;
      expect(line).toBeDefined();
      expect(line.includes('required')).toBe(input.required);
      if (input.default) expect(line).toContain(`default: ${input.default}`);
      else expect(line).not.toContain('default:');
    },
  );

  it('names the target --name (as az does), and keeps --registry for the source ACR', () => {
    expect(flagOf('registry')).toBe('name');
    expect(parseFlags(['-n', 'prod', '-r', 'devacr']).inputs['registry']).toBe('prod');
    expect(parseFlags(['-n', 'prod', '-r', 'devacr']).sourceRegistry).toBe('devacr');
  });

  it('documents every exit code in --help', () => {
    for (const { code } of EXIT_CODES) expect(help).toContain(`  ${code}  ${EXIT_CODES[code]!.meaning}`);
  });
});

describe('README', () => {
  const inputs = table('## Inputs');

  it.each(INPUT_TABLE.map((i) => [i.name, i] as const))(
    '%s: a row of the inputs table with its required-ness and default',
    (name, input) => {
      const row = inputs.find((r) =>
        r[0]!
          .split(',')
          .map((c) => c.trim())
          .includes(`\`${name}\``),
      );
      expect(row).toBeDefined();
      // `yes*` is "required unless ...": not required as an input.
      expect(row![1] === 'yes').toBe(input.required);
      if (input.default) expect(row![2]).toBe(`\`${input.default}\``);
    },
  );

  it('lists every CLI flag that is not an input of the same name in the CLI section, and every exit code', () => {
    const section = readme.slice(readme.indexOf('## Command line'));
    expect(section).toContain('Every input above is a long flag of the same name');
    for (const flag of FLAGS.filter((f) => f.input === undefined || f.long !== f.input))
      expect(section).toContain(`\`--${flag.long}`);
    for (const { code } of EXIT_CODES) expect(section).toContain(`| \`${code}\``);
  });
});
