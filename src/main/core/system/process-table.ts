import { readsProc, systemInfo, type SystemInfo } from './system-info.js'

/*
 * The machine's process table where there is no /proc (macOS, Windows): every process with its
 * parent, resident memory and command line, in one call, from systeminformation (`ps` on macOS,
 * Win32_Process on Windows). process-tree.ts walks the browsers' trees over it exactly as it walks
 * /proc on Linux.
 */

export interface ProcessRow {
  pid: number
  ppid: number
  /** Resident memory (macOS RSS, Windows working set). */
  rss_bytes: number
  /** The whole command line, arguments separated by spaces. */
  command: string
}

/** One reading of the whole table. */
export type ProcessTableReader = () => Promise<ProcessRow[]>

export function systemProcessTable(si: SystemInfo = systemInfo): ProcessTableReader {
  return async () =>
    (await si.processes()).list.map((p) => ({
      pid: p.pid,
      ppid: p.parentPid,
      rss_bytes: Math.max(0, p.memRss || 0) * 1024,
      // macOS splits the program from its arguments; Windows gives the whole line in `command`.
      command: p.params ? `${p.command} ${p.params}` : p.command,
    }))
}

/** A table reader that reads the system at most once per interval and says how old its answer is. */
export interface ThrottledProcessTable extends ProcessTableReader {
  /** Age in ms of the rows the last call returned (0 when just read); null before the first reading. */
  staleness(): number | null
}

/**
 * On Windows systeminformation's processes() starts PowerShell (Get-CimInstance Win32_Process)
 * every time: at the monitor's per-second sampling that is a process launch a second and a core
 * kept busy. So there it is read at most every WINDOWS_PROCESS_TABLE_INTERVAL_MS and the rows are
 * reused in between: browser memory and the orphan scan then lag by up to that long, which
 * staleness() measures. Callers at the same time share one reading; a failed reading is not kept.
 */
export function throttledProcessTable(read: ProcessTableReader, opts: { minIntervalMs: number; now?: () => number }): ThrottledProcessTable {
  const now = opts.now ?? (() => performance.now())
  let last: { rows: ProcessRow[]; at: number } | null = null
  let servedAt: number | null = null
  let inFlight: Promise<ProcessRow[]> | null = null
  const reader = (async () => {
    if (last && now() - last.at < opts.minIntervalMs) {
      servedAt = last.at
      return last.rows
    }
    if (!inFlight) {
      const started = now()
      inFlight = read().then(
        (rows) => {
          last = { rows, at: started }
          inFlight = null
          return rows
        },
        (err: unknown) => {
          inFlight = null
          throw err
        },
      )
    }
    const rows = await inFlight
    servedAt = last?.at ?? null
    return rows
  }) as ThrottledProcessTable
  reader.staleness = () => (servedAt === null ? null : Math.max(0, now() - servedAt))
  return reader
}

/** How often Windows' process table (a PowerShell launch) is read at most. */
export const WINDOWS_PROCESS_TABLE_INTERVAL_MS = 5_000

/** Where process-tree.ts reads processes from: a /proc directory, or a table reader. */
export type ProcessSource = string | ProcessTableReader

/** One shared Windows reader, so its cache serves every caller of defaultProcessSource(). */
let windowsTable: ThrottledProcessTable | null = null

/**
 * This platform's: /proc on Linux, systeminformation's table elsewhere, throttled on Windows (see
 * throttledProcessTable). `si` is for tests; a reader built on one is not shared.
 */
export function defaultProcessSource(platform: NodeJS.Platform = process.platform, si?: SystemInfo): ProcessSource {
  if (readsProc(platform)) return '/proc'
  if (platform !== 'win32') return systemProcessTable(si)
  if (si) return throttledProcessTable(systemProcessTable(si), { minIntervalMs: WINDOWS_PROCESS_TABLE_INTERVAL_MS })
  windowsTable ??= throttledProcessTable(systemProcessTable(), { minIntervalMs: WINDOWS_PROCESS_TABLE_INTERVAL_MS })
  return windowsTable
}

/**
 * Whether one argument of the command line is `marker` or starts with it. The marker is a switch
 * without spaces; Windows may quote an argument, so quotes around a word are dropped first.
 */
export function commandHasArg(command: string, marker: string): boolean {
  return command.split(/\s+/).some((word) => {
    const arg = word.replace(/^"|"$/g, '')
    return arg === marker || arg.startsWith(marker)
  })
}
