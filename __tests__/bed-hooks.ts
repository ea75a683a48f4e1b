/**
 * One test bed per test file, with the same hooks everywhere: started before the file's first test, reset (faults
 * and request log cleared) before each test, stopped after the last one, also when a test failed.
 *
 *   let bed: StartedBed;
 *   useBed((started) => {
 *     bed = started;
 *   });
 */
import { startBed, type StartedBed } from '../testbed/bed.js';

export function useBed(
  onStarted: (bed: StartedBed) => void | Promise<void>,
  start: () => Promise<StartedBed> = () => startBed(),
): void {
  let bed: StartedBed | undefined;
  beforeAll(async () => {
    bed = await start();
    await onStarted(bed);
  });
  afterAll(async () => {
    await bed?.stop();
  });
  beforeEach(async () => {
    await bed?.control.reset();
  });
}
