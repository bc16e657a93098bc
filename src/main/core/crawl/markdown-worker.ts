import { parentPort } from 'node:worker_threads'
import { htmlToMarkdown } from './markdown.js'
import type { MarkdownJob, MarkdownReply } from './markdown-offload.js'
import { generateMarkdown, longestField } from './markdown-result.js'

/*
 * A Markdown worker thread: the converter of ./markdown.ts (and, for a job with options, the whole
 * MarkdownResult of ./markdown-result.ts: citations, content filter), one job at a time (the main
 * thread sends the next once this one is answered). A result with a string longer than the job's
 * maxChars is not copied back, only that length. The main thread terminates this thread when a
 * job outlives its deadline. A built app runs this as out/main/markdown-worker.js (its own entry
 * in electron.vite.config.ts); `npm run serve` and the tests run the .ts through tsx.
 */
parentPort?.on('message', (job: MarkdownJob) => {
  let reply: MarkdownReply
  try {
    if (job.options) {
      const result = generateMarkdown(job.html, job.options)
      const longest = longestField(result)
      reply = longest > job.maxChars ? { id: job.id, tooLarge: longest } : { id: job.id, result }
    } else {
      const markdown = htmlToMarkdown(job.html)
      reply = markdown.length > job.maxChars ? { id: job.id, tooLarge: markdown.length } : { id: job.id, markdown }
    }
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) }
  }
  parentPort?.postMessage(reply)
})

// Once compiled and warm: the first page converted here is not the one to pay for it.
generateMarkdown('<h1>warm</h1><p>up <a href="https://example.test/">a</a></p><ul><li>list</li></ul>', {
  filter: { type: 'PruningContentFilter', threshold: 0.48, threshold_type: 'fixed', min_word_threshold: null, preserve_classes: null, preserve_tags: null },
})
parentPort?.postMessage({ ready: true } satisfies MarkdownReply)
