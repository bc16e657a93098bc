import { parentPort } from 'node:worker_threads'
import { htmlToMarkdown } from '../../src/main/core/crawl/markdown.js'
import type { MarkdownJob, MarkdownReply } from '../../src/main/core/crawl/markdown-offload.js'

/*
 * A Markdown worker entry for tests: the real converter, answering like markdown-worker.ts, except
 * on a page holding HANG (it spins for ever: a conversion that never ends on its own) or CRASH
 * (the thread exits unanswered, as a worker that dies under a page does).
 */
parentPort?.on('message', (job: MarkdownJob) => {
  if (job.html.includes('HANG')) for (;;);
  if (job.html.includes('CRASH')) process.exit(3)
  const markdown = htmlToMarkdown(job.html)
  const reply: MarkdownReply = markdown.length > job.maxChars ? { id: job.id, tooLarge: markdown.length } : { id: job.id, markdown }
  parentPort?.postMessage(reply)
})
parentPort?.postMessage({ ready: true } satisfies MarkdownReply)
