import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createStream, type RotatingFileStream } from 'rotating-file-stream'

/*
 * The log file of a desktop run: a desktop launch throws stderr away, so what went wrong has to
 * be somewhere a user can find and attach to a bug report. Rotated by size in the classical way
 * (crawldeck.log, crawldeck.log.1 ... crawldeck.log.N, oldest dropped) so it never grows without
 * bound and the current file always has the same name. rotating-file-stream does the rotation: a
 * maintained Writable that pino's multistream writes to like any stream, in this thread (pino's
 * own pino-roll is a worker-thread transport, which bundled Electron main code cannot load by
 * module name, and it renames the current file on every roll).
 */

export const LOG_FILE_NAME = 'crawldeck.log'
/** 10 MiB per file and 5 older files: enough for days of a busy pool at info level, 60 MiB at most. */
export const LOG_FILE_MAX_BYTES = 10 * 1024 * 1024
export const LOG_FILES_KEPT = 5

export interface LogFileOptions {
  /** The platform's log folder (Electron's app.getPath('logs')). Created when missing. */
  dir: string
  /** Size past which the current file is rotated (default 10 MiB). */
  maxBytes?: number
  /** Rotated files kept beside the current one (default 5). */
  keep?: number
  name?: string
  /** Where a failing log file is reported, once (default: stderr). */
  onError?: (err: Error) => void
}

export interface LogFile {
  readonly dir: string
  /** The current file. */
  readonly path: string
  readonly stream: RotatingFileStream
  /** Writes what is buffered and closes the file (before the process exits). */
  close(): Promise<void>
}

export function openLogFile(opts: LogFileOptions): LogFile {
  const name = opts.name ?? LOG_FILE_NAME
  mkdirSync(opts.dir, { recursive: true })
  const stream = createStream(name, {
    path: opts.dir,
    size: `${Math.max(1, Math.floor(opts.maxBytes ?? LOG_FILE_MAX_BYTES))}B`,
    rotate: Math.max(1, Math.floor(opts.keep ?? LOG_FILES_KEPT)),
  })
  // A log file that cannot be written (disk full, folder removed) must never take the app down
  // through an unhandled 'error': it is reported once and stderr keeps the logs.
  let reported = false
  const report = (err: Error) => {
    if (reported) return
    reported = true
    if (opts.onError) opts.onError(err)
    else process.stderr.write(`crawldeck: cannot write the log file ${join(opts.dir, name)}: ${err.message}\n`)
  }
  stream.on('error', report)
  stream.on('warning', report)
  let closing: Promise<void> | null = null
  return {
    dir: opts.dir,
    path: join(opts.dir, name),
    stream,
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (stream.writableFinished || stream.destroyed) return resolve()
        stream.once('finish', () => resolve())
        stream.once('error', () => resolve())
        stream.end()
      })
      return closing
    },
  }
}
