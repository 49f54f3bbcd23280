// Starts a worker thread on a TypeScript module when the code runs from source: worker threads do not inherit the
// main thread's loader hooks, so tsx is registered here before the module is imported.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
