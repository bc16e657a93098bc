import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** A rectangle in screen coordinates (a display's work area, a window's bounds). */
export interface Rect {
  x: number
  y: number
  width: number
  height: number
}

/** What window-state.json holds: the last normal (not maximised) bounds, and whether it was maximised. */
export interface WindowState extends Rect {
  maximized: boolean
}

export const DEFAULT_SIZE = { width: 1280, height: 800 } as const
export const MIN_SIZE = { width: 640, height: 420 } as const

/** The state file, or null when it is missing or not what we wrote (a bad file never blocks start-up). */
export function readWindowState(file: string): WindowState | null {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return null
  }
  if (typeof raw !== 'object' || raw === null) return null
  const r = raw as Record<string, unknown>
  const nums = [r.x, r.y, r.width, r.height]
  if (!nums.every((n) => typeof n === 'number' && Number.isFinite(n))) return null
  return { x: r.x as number, y: r.y as number, width: r.width as number, height: r.height as number, maximized: r.maximized === true }
}

/** Written to a temp file then renamed, so a crash mid-write leaves the previous state whole. */
export function writeWindowState(file: string, state: WindowState): void {
  mkdirSync(dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(state))
  renameSync(tmp, file)
}

/**
 * Bounds to open the window with: the saved ones when they still land on a connected display
 * (shrunk to fit it and moved fully inside it); the saved size centred on the first (primary)
 * display when they land on none; the default size centred there without a saved state. A
 * monitor unplugged since last time must never leave the window off-screen.
 */
export function restoreBounds(saved: WindowState | null, displays: Rect[]): WindowState {
  const primary = displays[0] ?? { x: 0, y: 0, width: DEFAULT_SIZE.width, height: DEFAULT_SIZE.height }
  const overlapped = saved ? bestDisplay(saved, displays) : null
  const target = overlapped ?? primary
  const wanted = saved ?? DEFAULT_SIZE
  const width = clamp(Math.round(wanted.width), Math.min(MIN_SIZE.width, target.width), target.width)
  const height = clamp(Math.round(wanted.height), Math.min(MIN_SIZE.height, target.height), target.height)
  const x = overlapped && saved ? saved.x : target.x + (target.width - width) / 2
  const y = overlapped && saved ? saved.y : target.y + (target.height - height) / 2
  return {
    x: clamp(Math.round(x), target.x, target.x + target.width - width),
    y: clamp(Math.round(y), target.y, target.y + target.height - height),
    width,
    height,
    maximized: saved?.maximized ?? false,
  }
}

/** The display the window overlaps most; null when it overlaps none. */
function bestDisplay(rect: Rect, displays: Rect[]): Rect | null {
  let best: Rect | null = null
  let bestArea = 0
  for (const d of displays) {
    const w = Math.min(rect.x + rect.width, d.x + d.width) - Math.max(rect.x, d.x)
    const h = Math.min(rect.y + rect.height, d.y + d.height) - Math.max(rect.y, d.y)
    const area = w > 0 && h > 0 ? w * h : 0
    if (area > bestArea) {
      best = d
      bestArea = area
    }
  }
  return best
}

function clamp(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, value))
}

/**
 * Saves the window state at most once per `delayMs` of quiet: dragging a window fires dozens of
 * move events a second and each would otherwise be a disk write. `flush()` writes now (on close).
 */
export function debouncedSaver(save: () => void, delayMs: number): { schedule(): void; flush(): void; cancel(): void } {
  let timer: NodeJS.Timeout | null = null
  const cancel = () => {
    if (timer) clearTimeout(timer)
    timer = null
  }
  return {
    schedule() {
      cancel()
      timer = setTimeout(() => {
        timer = null
        save()
      }, delayMs)
    },
    flush() {
      cancel()
      save()
    },
    cancel,
  }
}
