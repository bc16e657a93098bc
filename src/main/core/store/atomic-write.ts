import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/**
 * Replace `file` with `text` so that a crash at any moment leaves either the old file or the new
 * one, whole: write a temp file beside it, fsync, rename over, fsync the directory. Owner-only
 * (0600). Callers serialise their writes: two renames racing could put an older state last.
 *
 * The temp file's name is random and it is created exclusively, never through a link: with a
 * predictable name (it was `<file>.<pid>.tmp`), anyone who can write the folder could plant a
 * link there and have our write land on, or our mode apply to, a file of their choosing.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const dir = dirname(file)
  await mkdir(dir, { recursive: true })
  await sweepOnce(file)
  const tmp = tempNameFor(file)
  const handle = await openNew(tmp)
  try {
    await handle.writeFile(text)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(tmp, file)
  } catch (err) {
    await unlink(tmp).catch(() => undefined)
    throw err
  }
  const dirHandle = await open(dir, 'r').catch(() => null)
  if (dirHandle) {
    await dirHandle.sync().catch(() => undefined)
    await dirHandle.close()
  }
}

/** What tempNameFor puts after `<file>.`. */
const TEMP_TAIL = /^[0-9a-f]{16}\.tmp$/

/** A fresh temp name beside `file`: nobody can know it in advance. */
export function tempNameFor(file: string): string {
  return `${file}.${randomBytes(8).toString('hex')}.tmp`
}

/** Creates `path` for writing, owner-only; fails if anything (a file, a link) is already there. */
export function openNew(path: string): Promise<FileHandle> {
  // O_NOFOLLOW is not on Windows, where O_EXCL alone already refuses an existing link.
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0)
  return open(path, flags, 0o600)
}

/** Files already swept of a crash's leftovers in this process. */
const swept = new Set<string>()

/**
 * A crash between creating the temp file and the rename leaves it behind, under a name no later
 * write reuses: the first write of a file in a process removes those older than a minute (a
 * younger one may be another process's write under way).
 */
async function sweepOnce(file: string): Promise<void> {
  if (swept.has(file)) return
  swept.add(file)
  const dir = dirname(file)
  const prefix = `${basename(file)}.`
  const names = await readdir(dir).catch(() => [] as string[])
  const cutoff = Date.now() - 60_000
  for (const name of names) {
    if (!name.startsWith(prefix) || !TEMP_TAIL.test(name.slice(prefix.length))) continue
    const path = join(dir, name)
    const info = await stat(path).catch(() => null)
    if (info && info.mtimeMs < cutoff) await unlink(path).catch(() => undefined)
  }
}
