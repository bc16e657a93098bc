import { readFile, rename } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { MonitorStore, StoredState } from './store.js'
import { writeFileAtomic } from './atomic-write.js'

/**
 * The embedded store: one JSON file in the data dir, replaced atomically (write a temp file,
 * fsync, rename, fsync the directory), so a crash mid-write leaves the previous version whole.
 */
export class FileStore implements MonitorStore {
  readonly backend = 'file' as const
  readonly lineage = 'file'
  readonly location: string
  private current: StoredState = {}
  private writing: Promise<void> = Promise.resolve()

  constructor(dataDir: string, fileName = 'monitor.json') {
    this.location = resolve(join(dataDir, fileName))
  }

  async load(): Promise<StoredState | null> {
    let text: string
    try {
      text = await readFile(this.location, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
    try {
      this.current = JSON.parse(text) as StoredState
    } catch (err) {
      // Cannot happen through our own writes (they are atomic); a hand-edited file is set aside, not trusted.
      const aside = `${this.location}.corrupt-${Date.now()}`
      const moved = await rename(this.location, aside).then(
        () => `moved to ${aside}`,
        (e: NodeJS.ErrnoException) => `could not move it aside: ${e.code ?? e.message}`,
      )
      throw new Error(`${this.location} is not valid JSON (${moved}): ${(err as Error).message}`, { cause: err })
    }
    return this.current
  }

  save(sections: StoredState): Promise<void> {
    // Writes are serialised: two renames racing could put an older state last.
    const next = this.writing.then(() => this.write({ ...this.current, ...sections, version: 1 }))
    this.writing = next.catch(() => undefined)
    return next
  }

  private async write(snapshot: StoredState): Promise<void> {
    await writeFileAtomic(this.location, JSON.stringify(snapshot))
    this.current = snapshot
  }

  async close(): Promise<void> {
    await this.writing
  }
}
