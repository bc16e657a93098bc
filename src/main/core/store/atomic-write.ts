import { mkdir, open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * Replace `file` with `text` so that a crash at any moment leaves either the old file or the new
 * one, whole: write a temp file beside it, fsync, rename over, fsync the directory. Owner-only
 * (0600), also when a temp file left by an earlier crash is reused (open()'s mode only applies to
 * a file it creates). Callers serialise their writes: two renames racing could put an older
 * state last.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const dir = dirname(file)
  await mkdir(dir, { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  const handle = await open(tmp, 'w', 0o600)
  try {
    await handle.chmod(0o600)
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
