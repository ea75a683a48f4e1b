/**
 * The Azure Pipelines agent's logging commands, written by hand (no azure-pipelines-task-lib: the library deletes
 * INPUT_* and ENDPOINT_AUTH_* from process.env when it loads, which hides the very environment this task and its
 * tests read, and its MockTestRunner downloads Node; the protocol is a few stdout lines):
 * `##vso[task.setsecret]`, `##vso[task.setvariable variable=..;isOutput=true;issecret=false]`, `##[group]` /
 * `##[endgroup]`, `##vso[task.logissue type=warning|error]`, `##vso[task.uploadsummary]`, `##vso[task.debug]` and
 * exactly one `##vso[task.complete result=...;]`.
 *
 * Escaping (shared/reference/azure-pipelines.md): property values `%` -> `%AZP25`, CR -> `%0D`, LF -> `%0A`,
 * `]` -> `%5D`, `;` -> `%3B`; the message part `%`, CR and LF only. Text from remote services never starts (or
 * holds) a logging command: `##vso[` and `##[` get a zero-width space between the two `#`.
 */

export type TaskResult = 'Succeeded' | 'SucceededWithIssues' | 'Failed';

export function escapeProperty(value: string): string {
  return value
    .replace(/%/g, '%AZP25')
    .replace(/\r/g, '%0D')
    .replace(/\n/g, '%0A')
    .replace(/]/g, '%5D')
    .replace(/;/g, '%3B');
}

export function escapeData(value: string): string {
  return value.replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Breaks every `##vso[` and `##[` (any case) so the agent reads the text as text. */
export function neutralise(text: string): string {
  return text.replace(/##(?=vso\[|\[)/gi, '#\u200b#');
}

/** One logging command line (without the newline). */
export function command(name: string, properties: Record<string, string>, data: string): string {
  const props = Object.entries(properties)
    .map(([k, v]) => `${k}=${escapeProperty(v)};`)
    .join('');
  return `##vso[${name}${props ? ` ${props}` : ''}]${escapeData(data)}`;
}

/**
 * Writes a task's stdout for the agent. Secrets given to the constructor are declared before any other line; later
 * ones (tokens) as they arrive, before they can appear. `complete` may be called once.
 */
export class AgentLog {
  private readonly declared = new Set<string>();
  private depth = 0;
  private completed: TaskResult | undefined;
  private issues = 0;

  constructor(
    private readonly write: (line: string) => void,
    secrets: readonly string[] = [],
  ) {
    for (const secret of secrets) this.setSecret(secret);
  }

  /** Declares a secret; a multi-line value (a PEM) is declared line by line, since a secret must be one line. */
  setSecret(value: string): void {
    for (const line of value.split(/\r?\n/)) {
      const part = line.trim();
      if (!part || this.declared.has(part)) continue;
      this.declared.add(part);
      this.write(command('task.setsecret', {}, part));
    }
  }

  /** An output variable of the step (`$(step.name)`, `dependencies.<job>.outputs['step.name']`). */
  setOutput(name: string, value: string): void {
    this.write(command('task.setvariable', { variable: name, isOutput: 'true', issecret: 'false' }, value));
  }

  info(text: string): void {
    for (const line of text.split(/\r?\n/)) this.write(neutralise(line));
  }

  debug(text: string): void {
    this.write(command('task.debug', {}, neutralise(text)));
  }

  warning(text: string): void {
    this.issues++;
    this.write(command('task.logissue', { type: 'warning' }, neutralise(text)));
  }

  error(text: string): void {
    this.issues++;
    this.write(command('task.logissue', { type: 'error' }, neutralise(text)));
  }

  /** Opens a foldable section; an open one is closed first (the agent does not nest groups). */
  group(name: string): void {
    if (this.depth > 0) this.endGroup();
    this.write(`##[group]${neutralise(name).replace(/[\r\n]+/g, ' ')}`);
    this.depth = 1;
  }

  endGroup(): void {
    if (this.depth === 0) return;
    this.write('##[endgroup]');
    this.depth = 0;
  }

  /** Runs `fn` inside a group, closed also when it throws. */
  async inGroup<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.group(name);
    try {
      return await fn();
    } finally {
      this.endGroup();
    }
  }

  /** Attaches a UTF-8 markdown file (in Agent.TempDirectory) to the run's summary tab. */
  uploadSummary(path: string): void {
    this.write(command('task.uploadsummary', {}, path));
  }

  /** Whether warnings or errors were logged (SucceededWithIssues rather than Succeeded). */
  get hasIssues(): boolean {
    return this.issues > 0;
  }

  /** The step's result, exactly once. */
  complete(result: TaskResult, message: string): void {
    if (this.completed) throw new Error(`task.complete was already written (${this.completed})`);
    this.endGroup();
    this.completed = result;
    this.write(command('task.complete', { result }, neutralise(message).replace(/[\r\n]+/g, ' ')));
  }

  get result(): TaskResult | undefined {
    return this.completed;
  }
}
