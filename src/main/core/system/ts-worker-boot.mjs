// Starts a worker thread whose entry is TypeScript, for `npm run serve` and the tests (both run the
// sources through tsx, whose loader a worker does not inherit). The built app never uses this: its
// workers are compiled .js files beside out/main/index.js. See ./worker-entry.ts.
import { workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

register()
await import(workerData.entry)
