/**
 * Writes azure-pipelines/AcrImportV1/task.json from the input table (src/hosts/pipelines/task-manifest.ts), or with
 * `--check` fails when the committed file differs:
 *
 *   npm run compile && node build/testbed/task-json.js [--check]
 *
 * The inputs' descriptions, defaults and required-ness come from action.yml (`actionInputFacts`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { buildTaskJson, type InputFacts } from '../src/hosts/pipelines/task-manifest.js';
import { REPO_ROOT } from './run-action.js';

export const TASK_JSON = join(REPO_ROOT, 'azure-pipelines', 'AcrImportV1', 'task.json');
export const VSS_EXTENSION_JSON = join(REPO_ROOT, 'azure-pipelines', 'vss-extension.json');

/** action.yml's inputs: description, required, default. */
export function actionInputFacts(): (name: string) => InputFacts {
  const action = parse(readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  };
  return (name) => {
    const input = action.inputs[name];
    if (!input) throw new Error(`action.yml has no input '${name}'`);
    return {
      description: input.description,
      required: input.required === true,
      default: input.default ?? '',
    };
  };
}

/** task.json's text as generated. */
export function renderTaskJson(): string {
  return `${JSON.stringify(buildTaskJson(actionInputFacts()), null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = renderTaskJson();
  if (process.argv.includes('--check')) {
    // Compared as JSON: the committed file is formatted by Prettier.
    if (JSON.stringify(JSON.parse(readFileSync(TASK_JSON, 'utf8'))) !== JSON.stringify(JSON.parse(text))) {
      process.stderr.write(`${TASK_JSON} is out of date: run node build/testbed/task-json.js\n`);
      process.exit(1);
    }
  } else {
    writeFileSync(TASK_JSON, text);
    process.stdout.write(`wrote ${TASK_JSON}\n`);
  }
}
