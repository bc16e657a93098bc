import { describe, expect, it } from 'vitest'
import { silentLogger } from '../src/main/core/logger.js'
import type { Monitor, MonitorSnapshot } from '../src/main/core/monitor/monitor.js'
import { Persister } from '../src/main/core/store/persister.js'
import type { MonitorStore } from '../src/main/core/store/store.js'
import type { MonitorHealth } from '../src/shared/monitor-types.js'

/**
 * The persister's own bookkeeping, with a store whose write we hold open: what `last_flush`
 * promises to a reader ("the state as of this time is on disk").
 */

/** The part of the monitor the persister uses: a count that changes, and its dirty flag. */
function countingMonitor() {
  const m = {
    count: 0,
    dirty: false,
    persistence: null as unknown as MonitorHealth['persistence'],
    setPersistence(state: MonitorHealth['persistence']) {
      m.persistence = state
    },
    record() {
      m.count++
      m.dirty = true
    },
    takeDirty(): Partial<MonitorSnapshot> | null {
      if (!m.dirty) return null
      m.dirty = false
      return { endpoints: { '/md': { count: m.count } as never } }
    },
    markDirty() {
      m.dirty = true
    },
    merge() {},
  }
  return m
}

/** A store whose save waits until the test lets it finish. */
function heldStore() {
  const saved: number[] = []
  let onSave: (release: () => void) => void = () => {}
  const store: MonitorStore = {
    backend: 'file',
    location: 'memory://held',
    load: async () => null,
    save: (sections) =>
      new Promise<void>((r) => onSave(r)).then(() => {
        saved.push((sections.endpoints?.['/md'] as unknown as { count: number }).count)
      }),
    close: async () => {},
  }
  /** Resolves with the release of the next write, once that write has started. */
  const nextSave = () => new Promise<() => void>((r) => (onSave = r))
  return { store, saved, nextSave }
}

/** Resolves once Date.now() has moved past `t` (the clock has millisecond resolution). */
async function clockPast(t: number): Promise<void> {
  while (Date.now() <= t) await new Promise((r) => setImmediate(r))
}

describe('persister', () => {
  it('last_flush is when the written state was taken: a change made during a slow write is not claimed by it', async () => {
    const monitor = countingMonitor()
    const { store, saved, nextSave } = heldStore()
    const persister = new Persister(monitor as unknown as Monitor, store, 60_000, silentLogger())
    monitor.record()
    let saving = nextSave()
    const flushed = persister.flush()
    let release = await saving
    // The write is under way; a request finishes now and its client notes the time.
    await clockPast(Date.now())
    monitor.record()
    const answeredAt = Date.now()
    await clockPast(answeredAt)
    release()
    await flushed
    expect(saved).toEqual([1])
    // A reader waiting for "a flush after my answer" must keep waiting: this write does not hold it.
    expect(monitor.persistence.last_flush).not.toBeNull()
    expect(monitor.persistence.last_flush!).toBeLessThan(answeredAt)
    // The next write holds it, and says so.
    saving = nextSave()
    const next = persister.flush()
    release = await saving
    await clockPast(Date.now())
    release()
    await next
    expect(saved).toEqual([1, 2])
    expect(monitor.persistence.last_flush!).toBeGreaterThanOrEqual(answeredAt)
  })
})
