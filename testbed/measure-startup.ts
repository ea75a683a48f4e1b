/**
 * Measures how long the bed takes to start (registries + emulator + seeding) and to stop.
 *
 *   npm run compile && node build/testbed/measure-startup.js [runs=3] [--no-emulator]
 *
 * Prints one line per run and the median; exits 1 if the median start-up exceeds 5 s (the budget of issue 3).
 */
import { startBed } from './bed.js';
import { trackedPids } from './registries.js';

const BUDGET_MS = 5000;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? '3');
  const emulator = !args.includes('--no-emulator');
  const totals: number[] = [];
  for (let i = 1; i <= runs; i++) {
    const bed = await startBed({ emulator });
    const t = bed.timings;
    const tStop = performance.now();
    await bed.stop();
    const stopMs = Math.round(performance.now() - tStop);
    totals.push(t.totalMs);
    console.log(
      `run ${i}: start ${t.totalMs} ms (pki ${t.pkiMs}, registries ${t.registriesMs}, emulator ${emulator ? t.emulatorMs : '-'}, ` +
        `seed ${t.seedMs} after registries), stop ${stopMs} ms, processes left ${trackedPids().length}`,
    );
  }
  totals.sort((a, b) => a - b);
  const median = totals[Math.floor(totals.length / 2)] ?? 0;
  console.log(
    `median start-up: ${median} ms (budget ${BUDGET_MS} ms)${emulator ? '' : ' without the emulator'}`,
  );
  if (median > BUDGET_MS) process.exitCode = 1;
}

await main();
