/**
 * The no-Azure demo: starts the test bed (real registries + the Azure emulator), runs the bundled action exactly as
 * a GitHub runner would, importing a multi-arch image from a Docker-Hub-like registry into the emulated ACR, prints
 * the outputs and the job summary, checks the target independently, and stops everything.
 *
 *   npm run demo
 */
import { startBed } from './bed.js';
import { runAction } from './run-action.js';

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

const bed = await startBed();
let code: number;
try {
  console.log(bold(`Test bed up in ${bed.timings.totalMs} ms`));
  const hub = bed.sources.hub;
  const image = hub.images['multiArch']!;
  const inputs = {
    ...bed.baseInputs(),
    source: `${hub.host}/${image.repository}:${image.tag}`,
    'target-tags': `demo/hello:${image.tag}`,
  };
  console.log(bold('\nInputs (as INPUT_* environment variables):'));
  for (const [name, value] of Object.entries(inputs)) console.log(`  ${name}: ${value}`);

  const run = await runAction(bed, inputs);
  console.log(bold(`\nnode dist/index.js exited with ${run.exitCode} after ${run.durationMs} ms. Its log:`));
  const log = run.stdout
    .split('\n')
    .filter((line) => line && !/^::(add-mask|debug|group|endgroup)::/.test(line));
  for (const line of log) console.log(`  ${line}`);

  console.log(bold('\nOutputs (GITHUB_OUTPUT):'));
  for (const [name, value] of Object.entries(run.outputs)) {
    const shown = name === 'results' ? JSON.stringify(JSON.parse(value), null, 2) : value;
    console.log(`  ${name}:\n${shown.replace(/^/gm, '    ')}`);
  }
  console.log(bold('\nJob summary (GITHUB_STEP_SUMMARY):'));
  console.log(run.summary.replace(/^/gm, '  '));

  const held = await bed.digestOf(bed.acrs.target, 'demo/hello', image.tag);
  const ok = run.exitCode === 0 && held === image.digest && run.outputs['digest'] === image.digest;
  console.log(
    bold(
      ok
        ? `\nOK: the target registry holds ${held} (read from its storage), the same index digest as the source, with ${image.platforms.length} platforms.`
        : `\nFAILED: target holds ${held ?? 'nothing'}, source is ${image.digest}.`,
    ),
  );
  code = ok ? 0 : 1;
} finally {
  await bed.stop();
}
process.exit(code);
