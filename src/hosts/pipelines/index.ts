/** Entry point of the Azure Pipelines task (bundled into azure-pipelines/AcrImportV1/index.js). */
import '../common/process.js';
import { run } from './main.js';

await run();
