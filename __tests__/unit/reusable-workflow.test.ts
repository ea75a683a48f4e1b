/**
 * .github/workflows/acr-import.yml (the reusable workflow) against action.yml: every Action input is a workflow
 * input (or, for secrets, a workflow secret) of the same name and default, passed to the Action unchanged; the
 * outputs are the Action's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SECRET_INPUTS } from '../../src/engine/index.js';
import { REPO_ROOT } from '../../testbed/run-action.js';

interface WorkflowInput {
  type: 'string' | 'boolean' | 'number';
  default?: string | boolean | number;
  required?: boolean;
  description: string;
}

const action = parse(readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { required?: boolean; default?: string }>;
  outputs: Record<string, unknown>;
};
const workflow = parse(readFileSync(join(REPO_ROOT, '.github/workflows/acr-import.yml'), 'utf8')) as {
  on: {
    workflow_call: {
      inputs: Record<string, WorkflowInput>;
      secrets: Record<string, { required: boolean }>;
      outputs: Record<string, { value: string }>;
    };
  };
  jobs: Record<
    string,
    {
      permissions: Record<string, string>;
      outputs: Record<string, string>;
      steps: { id?: string; uses?: string; with?: Record<string, string> }[];
    }
  >;
};
const call = workflow.on.workflow_call;
const job = workflow.jobs['import'];
const step = job?.steps.find((s) => s.id === 'import');

it('offers every Action input, secrets as secrets, with the same defaults', () => {
  for (const [name, input] of Object.entries(action.inputs)) {
    if ((SECRET_INPUTS as readonly string[]).includes(name)) {
      expect(call.secrets[name]).toEqual(expect.objectContaining({ required: false }));
      expect(call.inputs[name]).toBeUndefined();
      continue;
    }
    const w = call.inputs[name];
    expect(w).toBeDefined();
    expect(w?.required ?? false).toBe(input.required ?? false);
    if (!input.required) expect(String(w?.default)).toBe(input.default ?? '');
    if (input.default === 'true' || input.default === 'false') expect(w?.type).toBe('boolean');
    expect(w?.description).toMatch(/Default: |Required\./);
  }
  const extra = Object.keys(call.inputs).filter((n) => !(n in action.inputs));
  expect(extra.sort()).toEqual(['checkout', 'runs-on']);
});

it('passes each input to the Action under its own name', () => {
  expect(step?.uses).toBe('acr-import/acr-import@v1');
  const passed = step?.with ?? {};
  expect(Object.keys(passed).sort()).toEqual(Object.keys(action.inputs).sort());
  for (const [name, value] of Object.entries(passed)) {
    const source = (SECRET_INPUTS as readonly string[]).includes(name) ? 'secrets' : 'inputs';
    expect(value).toBe(`\${{ ${source}.${name} }}`);
  }
});

it("publishes the Action's outputs, and its job may request an ID token", () => {
  expect(Object.keys(call.outputs).sort()).toEqual(Object.keys(action.outputs).sort());
  for (const name of Object.keys(action.outputs)) {
    expect(call.outputs[name]?.value).toBe(`\${{ jobs.import.outputs.${name} }}`);
    expect(job?.outputs[name]).toBe(`\${{ steps.import.outputs.${name} }}`);
  }
  expect(job?.permissions).toEqual({ 'id-token': 'write', contents: 'read' });
});
