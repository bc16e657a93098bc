import { LmdbCache } from '../../src/main/core/cache/lmdb-cache.js'
import { emptyResult } from '../../src/main/core/crawl/crawler.js'

/*
 * Writes results into an LMDB result cache as fast as it can, forever, in batches of concurrent
 * puts, printing how many were written: tests/result-cache.test.ts kills it with SIGKILL mid-write
 * and reopens the cache. Usage: node --import tsx tests/helpers/cache-writer.ts DATA_DIR MAX_BYTES
 */

const [dataDir, maxBytes] = process.argv.slice(2)
if (!dataDir || !maxBytes) throw new Error('usage: cache-writer.ts DATA_DIR MAX_BYTES')
const cache = new LmdbCache({ dataDir, maxBytes: Number(maxBytes), ttlSeconds: 0 })
let written = 0
for (;;) {
  const batch = Array.from({ length: 8 }, (_, j) => {
    const n = written + j
    const result = { ...emptyResult(`https://example.com/${n}`), success: true, html: `<p>${n}</p>`.repeat(200 + (n % 13) * 50) }
    return cache.put(`key-${n}`, result)
  })
  await Promise.all(batch)
  written += batch.length
  process.stdout.write(`written ${written}\n`)
}
