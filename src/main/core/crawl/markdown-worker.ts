import { parentPort } from 'node:worker_threads'
import { htmlToMarkdown } from './markdown.js'
import type { MarkdownJob, MarkdownReply } from './markdown-offload.js'

/*
 * The Markdown worker thread: the same converter as the main thread (./markdown.ts), one job at a
 * time, answered in order. A built app runs this as out/main/markdown-worker.js (its own entry in
 * electron.vite.config.ts); `npm run serve` and the tests run the .ts through tsx.
 */
parentPort?.on('message', (job: MarkdownJob) => {
  let reply: MarkdownReply
  try {
    reply = { id: job.id, markdown: htmlToMarkdown(job.html) }
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) }
  }
  parentPort?.postMessage(reply)
})
