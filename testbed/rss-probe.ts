/**
 * Loaded into a run under the benchmark (`NODE_OPTIONS=--import=<this file>`): when the process exits it writes its
 * peak resident set size (process.resourceUsage().maxRSS, KiB) to the file named by ACR_IMPORT_RSS_FILE.
 */
import { writeFileSync } from 'node:fs';

const file = process.env['ACR_IMPORT_RSS_FILE'];
if (file) {
  process.on('exit', () => {
    writeFileSync(file, String(process.resourceUsage().maxRSS));
  });
}
