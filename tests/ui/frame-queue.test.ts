import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

// Under node there is no requestAnimationFrame: the queue falls back to 16 ms timers, which
// fake timers step through frame by frame.
let q: typeof import('../../src/renderer/src/lib/frame-queue.js')

beforeEach(async () => {
  vi.useFakeTimers()
  vi.resetModules()
  q = await import('../../src/renderer/src/lib/frame-queue.js')
})
afterEach(() => {
  vi.useRealTimers()
})

describe('frame queue', () => {
  it('runs one job per frame, in the order first queued', () => {
    const ran: string[] = []
    q.inNextFrame('memory', () => ran.push('memory'))
    q.inNextFrame('cpu', () => ran.push('cpu'))
    q.inNextFrame('requests', () => ran.push('requests'))
    expect(ran).toEqual([])
    vi.advanceTimersByTime(16)
    expect(ran).toEqual(['memory'])
    vi.advanceTimersByTime(16)
    expect(ran).toEqual(['memory', 'cpu'])
    vi.advanceTimersByTime(16)
    expect(ran).toEqual(['memory', 'cpu', 'requests'])
    vi.advanceTimersByTime(100)
    expect(ran).toHaveLength(3)
  })

  it('keeps one job per key: a newer one replaces the pending one, so frames that do not come cannot pile work up', () => {
    const ran: number[] = []
    for (let i = 0; i < 1000; i++) q.inNextFrame('chart', () => ran.push(i))
    expect(q.pendingFrameJobs()).toBe(1)
    vi.advanceTimersByTime(1000)
    expect(ran).toEqual([999])
    expect(q.pendingFrameJobs()).toBe(0)
  })

  it('drops a cancelled job, and goes on after a job that throws', () => {
    const ran: string[] = []
    q.inNextFrame('a', () => {
      throw new Error('boom')
    })
    q.inNextFrame('b', () => ran.push('b'))
    q.inNextFrame('c', () => ran.push('c'))
    q.cancelFrameJob('c')
    expect(() => vi.advanceTimersByTime(16)).toThrow('boom')
    vi.advanceTimersByTime(16)
    expect(ran).toEqual(['b'])
    expect(q.pendingFrameJobs()).toBe(0)
  })
})
