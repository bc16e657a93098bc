import { describe, expect, it } from 'vitest'
import { BatchResults, collectBatch } from '../src/main/core/service/batch-results.js'

/**
 * The hand-over between a batch's workers and the door that writes its answer: order, the
 * window that bounds what a batch holds, and a reader that goes away.
 */

/** Whether `p` has settled by the time everything already queued has run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false
  void p.then(() => (done = true))
  await new Promise((r) => setImmediate(r))
  return done
}

describe('BatchResults', () => {
  it('ordered: hands results over in URL order, whatever order they finish in', async () => {
    const out = new BatchResults<string>(true, 8)
    const read: string[] = []
    const reading = (async () => {
      for await (const r of out) read.push(r)
    })()
    out.push(2, 'c')
    out.push(1, 'b')
    await new Promise((r) => setImmediate(r))
    // Nothing can go before URL 0.
    expect(read).toEqual([])
    out.push(0, 'a')
    out.push(3, 'd')
    out.end()
    await reading
    expect(read).toEqual(['a', 'b', 'c', 'd'])
  })

  it('unordered: hands results over as they arrive', async () => {
    const out = new BatchResults<string>(false, 8)
    out.push(2, 'c')
    out.push(0, 'a')
    out.push(1, 'b')
    out.end()
    const read: string[] = []
    for await (const r of out) read.push(r)
    expect(read).toEqual(['c', 'a', 'b'])
  })

  it('a URL waits for room while `window` URLs before it are unread', async () => {
    const out = new BatchResults<string>(true, 3)
    for (const i of [0, 1, 2]) expect(await settled(out.room(i))).toBe(true)
    const fourth = out.room(3)
    const fifth = out.room(4)
    expect(await settled(fourth)).toBe(false)
    // A result that finished but was not read still counts: it is held in memory.
    out.push(1, 'b')
    out.push(2, 'c')
    expect(await settled(fourth)).toBe(false)
    const it = out[Symbol.asyncIterator]()
    out.push(0, 'a')
    expect(await it.next()).toEqual({ value: 'a', done: false })
    expect(await settled(fourth)).toBe(true)
    expect(await settled(fifth)).toBe(false)
    expect(await it.next()).toEqual({ value: 'b', done: false })
    expect(await settled(fifth)).toBe(true)
    await it.return?.()
  })

  it('a reader that stops early frees every waiting worker and keeps nothing pushed later', async () => {
    const out = new BatchResults<string>(true, 1)
    out.push(0, 'a')
    const waiting = out.room(1)
    // Stopped before its first read: the door had the iterator, then the client went away.
    const it = out[Symbol.asyncIterator]()
    expect(await settled(waiting)).toBe(false)
    await it.return?.()
    expect(await settled(waiting)).toBe(true)
    expect(await settled(out.room(50))).toBe(true)
    out.push(1, 'b')
    expect((out as unknown as { ready: Map<number, string> }).ready.size).toBe(0)
  })

  it('a failed batch: the reader gets what came before, then the error', async () => {
    const out = new BatchResults<string>(true, 8)
    out.push(0, 'a')
    out.fail(new Error('engine broke'))
    const read: string[] = []
    await expect(
      (async () => {
        for await (const r of out) read.push(r)
      })(),
    ).rejects.toThrow('engine broke')
    expect(read).toEqual(['a'])
  })

  it('is read once', async () => {
    const out = new BatchResults<string>(true, 8)
    out.end()
    for await (const _ of out) void _
    expect(() => out[Symbol.asyncIterator]()).toThrow('read once')
  })

  it('refuses a window below 1', () => {
    expect(() => new BatchResults<string>(true, 0)).toThrow(RangeError)
  })

  it('collectBatch gathers the whole answer for the IPC door: success only when every URL succeeded', async () => {
    const make = (flags: boolean[]) => {
      const out = new BatchResults<{ url: string; success: boolean }>(true, 8)
      flags.forEach((success, i) => out.push(i, { url: `u${i}`, success }))
      out.end()
      return out
    }
    expect(await collectBatch(make([true, true]) as never)).toEqual({
      success: true,
      results: [
        { url: 'u0', success: true },
        { url: 'u1', success: true },
      ],
    })
    expect((await collectBatch(make([true, false]) as never)).success).toBe(false)
  })
})
