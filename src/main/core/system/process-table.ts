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

/** Where process-tree.ts reads processes from: a /proc directory, or a table reader. */
export type ProcessSource = string | ProcessTableReader

/** This platform's: /proc on Linux, systeminformation's table elsewhere. */
export function defaultProcessSource(platform: NodeJS.Platform = process.platform): ProcessSource {
  return readsProc(platform) ? '/proc' : systemProcessTable()
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
