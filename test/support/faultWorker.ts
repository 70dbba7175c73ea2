/** Where the compiled worker fixture is (test/fixtures/faultWorker.ts), for `workerFile` options. */
import { fileURLToPath } from 'node:url';

export const FAULT_WORKER = fileURLToPath(new URL('../fixtures/faultWorker.js', import.meta.url));
