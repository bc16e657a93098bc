import { parentPort } from 'node:worker_threads'

// A worker entry that ends its thread on the first job, unanswered: what a crashed worker looks like.
parentPort?.once('message', () => process.exit(3))
