/**
 * The host contract: the GitHub Action bundle (dist/index.js), the CLI bundle (cli/index.js) and the Azure Pipelines
 * task bundle (azure-pipelines/AcrImportV1/index.js) run the same scenarios against the emulator, from the same inputs
 * (the CLI gets each input as its long flag, the task as its camelCase task input), and must hand back the same
 * `results` JSON and leave the same digests in the target registry. The Action and the CLI sign in with GitHub OIDC,
 * as a job would; the task through a workload identity federation service connection, as a pipeline would.
 */
import type { StartedBed } from '../../testbed/bed.js';
import { useBed } from '../bed-hooks.js';
import { runAction } from '../../testbed/run-action.js';
import { bedFlags, runCli } from '../../testbed/run-cli.js';
import { AUTH_MODES } from '../../src/engine/config/model.js';
import { INPUT_TABLE, type HostWording } from '../../src/engine/index.js';
import { GITHUB_WORDING } from '../../src/hosts/action/wording.js';
import { CLI_WORDING } from '../../src/hosts/cli/wording.js';
import { failureText, results, type ResultJson } from './scenario-helpers.js';
import { bedAgentEnv, bedServiceConnection } from '../../testbed/agent-env.js';
import { agentWorkFolder, removeWorkFolder, runTask } from '../../testbed/run-task.js';
import { taskInputLabel } from '../../src/hosts/pipelines/inputs.js';
import { PIPELINES_WORDING } from '../../src/hosts/pipelines/wording.js';
import { INPUTS } from '../../src/engine/index.js';
import { tmpdir } from 'node:os';

let bed: StartedBed;
useBed((started) => {
  bed = started;
});

type HostName = 'action' | 'cli' | 'task';

interface Scenario {
  name: string;
  /** The step's inputs (without the bed's base inputs); `h` keeps the two hosts' targets apart. */
  inputs: (h: HostName) => Record<string, string>;
  /** Runs before the scenario, once per host (e.g. puts another image under the tag). */
  prepare?: (h: HostName) => Promise<void>;
  /** The CLI's exit code (the Action's is 0 when it is 0, else 1). */
  exit: 0 | 1 | 2 | 3;
}

const hub = (): StartedBed['sources']['hub'] => bed.sources.hub;

const SCENARIOS: Scenario[] = [
  {
    name: 'multi-arch by tag',
    inputs: (h) => ({ source: `${hub().host}/library/hello:latest`, 'target-tags': `hc/multi-${h}:latest` }),
    exit: 0,
  },
  {
    name: 'private source with credentials',
    inputs: (h) => ({
      source: `${bed.sources.private.host}/team/app:1.0`,
      'target-tags': `hc/private-${h}:1.0`,
      'source-username': bed.sources.private.username!,
      'source-password': bed.sources.private.password!,
    }),
    exit: 0,
  },
  {
    name: 'by digest',
    inputs: (h) => ({
      source: `${hub().host}/library/busybox@${hub().images['manifestList']!.digest}`,
      'target-tags': `hc/digest-${h}:pinned`,
    }),
    exit: 0,
  },
  {
    name: 'untagged',
    inputs: (h) => ({
      source: `${hub().host}/library/alpine@${hub().images['ociSingle']!.digest}`,
      'untagged-repositories': `hc/untagged-${h}`,
    }),
    exit: 0,
  },
  {
    name: 'conflict without force',
    prepare: (h) => putV1(`hc/conflict-${h}:stable`),
    inputs: (h) => ({
      source: `${hub().host}/library/hello:latest`,
      'target-tags': `hc/conflict-${h}:stable`,
    }),
    exit: 1,
  },
  {
    name: 'force',
    prepare: (h) => putV1(`hc/force-${h}:stable`),
    inputs: (h) => ({
      source: `${hub().host}/library/hello:latest`,
      'target-tags': `hc/force-${h}:stable`,
      force: 'true',
    }),
    exit: 0,
  },
  {
    name: 'dry-run',
    inputs: (h) => ({
      source: `${hub().host}/library/debian:12`,
      'target-tags': `hc/dry-${h}:12`,
      'dry-run': 'true',
    }),
    exit: 0,
  },
  {
    name: 'a bad input',
    inputs: () => ({ source: `${hub().host}/library/hello:latest`, timeout: 'soon', 'max-parallel': '0' }),
    exit: 2,
  },
  {
    name: 'a failed import',
    inputs: (h) => ({ source: `${hub().host}/library/hello:nope`, 'target-tags': `hc/failed-${h}:1` }),
    exit: 1,
  },
];

/** Puts the hub's library/hello:v1 under a target tag (through the Action), so that a later import conflicts. */
async function putV1(target: string): Promise<void> {
  const run = await runAction(bed, {
    ...bed.baseInputs(),
    source: `${hub().host}/library/hello:v1`,
    'target-tags': target,
  });
  if (run.exitCode !== 0) throw new Error(`prepare failed:\n${run.stdout}`);
}

const BOOLEAN = new Set(INPUT_TABLE.filter((i) => i.type === 'boolean').map((i) => i.name as string));

/** Inputs as the CLI's flags: each input's long flag of the same name. */
function flags(inputs: Record<string, string>): string[] {
  return Object.entries(inputs).flatMap(([name, value]) =>
    BOOLEAN.has(name) ? [`--${name}=${value}`] : [`--${name === 'registry' ? 'name' : name}`, value],
  );
}

interface HostRun {
  exit: number | null;
  results: ResultJson[] | undefined;
  /** The problems of a bad input, one per line, without the host's way of naming the input. */
  problems: string[];
}

async function viaAction(s: Scenario): Promise<HostRun> {
  const run = await runAction(bed, { ...bed.baseInputs(), ...s.inputs('action') });
  return {
    exit: run.exitCode,
    results: run.outputs['results'] === undefined ? undefined : results(run),
    problems: problemLines(failureText(run)),
  };
}

async function viaCli(s: Scenario): Promise<HostRun> {
  const env = bed.runnerEnv();
  const run = await runCli(bed, [...bedFlags(bed), ...flags(s.inputs('cli')), '-o', 'json'], {
    env: {
      ACTIONS_ID_TOKEN_REQUEST_URL: env['ACTIONS_ID_TOKEN_REQUEST_URL'],
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'],
    },
  });
  return {
    exit: run.exitCode,
    results: run.stdout.trim() ? (JSON.parse(run.stdout) as ResultJson[]) : undefined,
    problems: problemLines(run.stderr),
  };
}

/** The task, with each input as its task input (`target-tags` -> `targetTags`) and the bed's WIF connection. */
async function viaTask(s: Scenario): Promise<HostRun> {
  const workFolder = await agentWorkFolder(tmpdir());
  try {
    const inputs = Object.fromEntries(
      Object.entries(s.inputs('task')).map(([k, v]) => [taskInputLabel(k), v]),
    );
    const env = bedAgentEnv(
      bed,
      bedServiceConnection(bed, 'wif'),
      { registry: bed.acrs.target.name, ...inputs },
      workFolder,
    );
    const run = await runTask(env);
    const actionName = new Map(
      (Object.values(INPUTS) as string[]).map((name) => [taskInputLabel(name), name]),
    );
    const errors = run.log.issues.filter((i) => i.type === 'error').map((i) => i.message);
    return {
      exit: run.exitCode,
      results:
        run.outputs['results'] === undefined
          ? undefined
          : (JSON.parse(run.outputs['results']) as ResultJson[]),
      problems: problemLines(
        errors.join('\n').replace(/^- (\w+): /gm, (m, k: string) => `- ${actionName.get(k) ?? k}: `),
      ),
    };
  } finally {
    await removeWorkFolder(workFolder);
  }
}

function problemLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => /^- [-\w]+: /.test(l) && / \(got ".*"\)$/.test(l))
    .map((l) => l.replace(/^- --/, '- '))
    .sort();
}

/** The phrases each host words its own way (how to set an input, a sign-in mode ...), as placeholders. */
function unword(text: string, wording: HostWording): string {
  const phrases: [string, string][] = [
    [wording.idTokenSetup, '<id-token-setup>'],
    [wording.idTokenMissing, '<id-token-missing>'],
    [wording.existingSession, '<existing-session>'],
    [wording.setInput('force', 'true'), '<set force>'],
    ...AUTH_MODES.map((m): [string, string] => [wording.authMode(m), `<auth ${m}>`]),
  ];
  let out = text;
  for (const [phrase, placeholder] of phrases)
    out = out.split(JSON.stringify(phrase).slice(1, -1)).join(placeholder);
  return out;
}

/** Results with the host's part of the target names, its wording and the timings taken out. */
function normalized(list: ResultJson[] | undefined, h: HostName): unknown {
  if (!list) return undefined;
  const text = unword(
    JSON.stringify(list.map((r) => ({ ...r, durationMs: 0 }))),
    h === 'cli' ? CLI_WORDING : h === 'task' ? PIPELINES_WORDING : GITHUB_WORDING,
  );
  return JSON.parse(text.replace(new RegExp(`-${h}\\b`, 'g'), '-HOST')) as unknown;
}

/** What each target of the results holds now, read from the target's backing registry. */
async function heldDigests(list: ResultJson[] | undefined): Promise<(string | undefined)[]> {
  const login = bed.acrs.target.loginServer;
  const held: (string | undefined)[] = [];
  for (const r of list ?? []) {
    if (r.status === 'failed' || r.status === 'planned') continue;
    for (const t of r.targets) {
      const path = t.ref.slice(login.length + 1);
      const colon = path.lastIndexOf(':');
      const [repo, ref] = colon === -1 ? [path, t.digest!] : [path.slice(0, colon), path.slice(colon + 1)];
      held.push(await bed.digestOf(bed.acrs.target, repo, ref));
    }
  }
  return held;
}

describe('host contract: the Action, the CLI and the Pipelines task hand back the same results', () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', async (_name, s) => {
    await s.prepare?.('action');
    await s.prepare?.('cli');
    await s.prepare?.('task');
    const action = await viaAction(s);
    const cli = await viaCli(s);
    const task = await viaTask(s);

    expect(task.exit).toBe(s.exit === 0 ? 0 : 1);
    expect(normalized(task.results, 'task')).toEqual(normalized(action.results, 'action'));
    expect(task.problems).toEqual(action.problems);
    expect(await heldDigests(task.results)).toEqual(await heldDigests(action.results));

    expect(cli.exit).toBe(s.exit);
    expect(action.exit).toBe(s.exit === 0 ? 0 : 1);
    expect(normalized(cli.results, 'cli')).toEqual(normalized(action.results, 'action'));
    expect(cli.problems).toEqual(action.problems);

    if (s.exit === 2) {
      expect(action.results).toBeUndefined();
      expect(cli.problems.length).toBeGreaterThanOrEqual(2);
      return;
    }
    expect(action.results).toHaveLength(1);
    const actionHeld = await heldDigests(action.results);
    const cliHeld = await heldDigests(cli.results);
    expect(cliHeld).toEqual(actionHeld);
    // What the results say landed is what the target holds.
    const said = (action.results ?? [])
      .filter((r) => r.status !== 'failed' && r.status !== 'planned')
      .flatMap((r) => r.targets.map((t) => t.digest));
    expect(actionHeld).toEqual(said);
    if (s.name === 'dry-run')
      expect(await bed.digestOf(bed.acrs.target, 'hc/dry-action', '12')).toBeUndefined();
    if (s.name === 'conflict without force') expect(actionHeld).toEqual([]);
  });
});
