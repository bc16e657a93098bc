/**
 * The service for bench/growth.ts: exactly what `npm run serve` starts (src/main/serve.ts itself,
 * imported, with the flags it was forked with), plus one bench-only hook that no product code
 * carries: over the IPC channel of child_process.fork, a 'gc' message runs a full garbage
 * collection (this process runs under `node --expose-gc`) and answers with process.memoryUsage().
 */
import type { GrowthServerReply } from './growth-ipc.js'

const gc = globalThis.gc
if (typeof gc !== 'function' || typeof process.send !== 'function') {
  process.stderr.write('bench/growth-server.ts must be forked by bench/growth.ts under node --expose-gc\n')
  process.exit(1)
}

process.on('message', (message: unknown) => {
  if (message !== 'gc') return
  // Two full collections with a turn of the loop between them: objects kept alive only by a
  // finaliser or a weak reference cleared in the first are gone after the second. Plain gc(), not
  // gc({ type: 'major' }): on Node 20 the latter left megabytes of garbage counted in heapUsed
  // (heap snapshots of the same moments showed no growth), the former is V8's full forced GC.
  gc()
  setImmediate(() => {
    gc()
    const reply: GrowthServerReply = { type: 'memory', memory: process.memoryUsage() }
    process.send?.(reply)
  })
})

// The IPC channel must not keep the service alive once serve.ts has decided to exit, and a bench
// that dies (killed, crashed) must not leave the service and its Chromium behind: the channel
// closes with it, and the service then shuts down as it does on SIGTERM.
process.channel?.unref()
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'))

await import('../src/main/serve.js')
