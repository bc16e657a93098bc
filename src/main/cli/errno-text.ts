/*
 * How a system error reads in one line of a start-up failure: `ENOENT (no such file)` rather than
 * Node's message with its syscall and path repeated.
 */
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'part of the path is a file, not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  EEXIST: 'already exists',
}

/** `ENOENT (no such file)` for a node system error; the first line of the message otherwise. */
export function errnoText(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string') {
    const text = ERRNO_TEXT[code]
    return text ? `${code} (${text})` : code
  }
  return oneLine(err instanceof Error ? err.message : String(err))
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}
