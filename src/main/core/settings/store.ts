import { readFile, rename } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { SettingsPatchSchema, type SettingsPatch } from '../../../shared/settings.js'
import { describeIssues, summariseIssues } from '../../../shared/validation.js'
import { writeFileAtomic } from '../store/atomic-write.js'

/*
 * Reading and writing settings.json: an unusable file is moved aside and the defaults apply;
 * writes are atomic and one at a time.
 */

export interface LoadedSettings {
  /** What the user chose (the keys they set, nothing else); {} when there is no usable file. */
  overrides: SettingsPatch
  /** Why a file was not used and where it went; null when all is well. */
  problem: string | null
}

/**
 * settings.json in a directory the host chooses (the desktop: Electron's userData; `serve`: the
 * data dir). Written like the monitor's FileStore (temp file, fsync, rename, fsync the dir) so a
 * crash mid-write leaves the previous file whole, and mode 0600 because tokens live in it.
 */
export class SettingsStore {
  readonly location: string
  private writing: Promise<void> = Promise.resolve()

  constructor(dir: string, fileName = 'settings.json') {
    this.location = resolve(join(dir, fileName))
  }

  /** Never throws for a bad file: it is moved aside and reported, and the defaults apply. */
  async load(): Promise<LoadedSettings> {
    let text: string
    try {
      text = await readFile(this.location, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { overrides: {}, problem: null }
      return {
        overrides: {},
        problem: `${this.location} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): using the defaults`,
      }
    }
    let reason: string
    try {
      const doc = JSON.parse(text) as { version?: unknown; settings?: unknown }
      const parsed = SettingsPatchSchema.safeParse(doc?.settings)
      if (doc?.version === 1 && parsed.success) return { overrides: parsed.data, problem: null }
      reason = doc?.version !== 1 ? `unknown version ${JSON.stringify(doc?.version)}` : summariseIssues(describeIssues(parsed.error!))
    } catch (err) {
      reason = `not valid JSON: ${(err as Error).message}`
    }
    const aside = `${this.location}.corrupt-${Date.now()}`
    const moved = await rename(this.location, aside).then(
      () => `moved to ${aside}`,
      (e: NodeJS.ErrnoException) => `could not move it aside: ${e.code ?? e.message}`,
    )
    return { overrides: {}, problem: `${this.location} was not usable (${reason}); ${moved}; using the defaults` }
  }

  /** Writes are serialised: two renames racing could put an older state last. */
  save(overrides: SettingsPatch): Promise<void> {
    const next = this.writing.then(() => this.write(overrides))
    this.writing = next.catch(() => undefined)
    return next
  }

  private async write(overrides: SettingsPatch): Promise<void> {
    await writeFileAtomic(this.location, `${JSON.stringify({ version: 1, settings: overrides }, null, 2)}\n`)
  }

  async close(): Promise<void> {
    await this.writing
  }
}
