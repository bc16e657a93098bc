/** Number formatting with units, shared by every panel. Output is plain text. */

export function fmtNum(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—'
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
}

export function fmtPct(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—'
  return `${n.toFixed(digits)} %`
}

/** Megabytes in, the right unit out. */
export function fmtMB(mb: number | null | undefined): string {
  if (mb === null || mb === undefined || !Number.isFinite(mb)) return '—'
  if (Math.abs(mb) >= 1024) return `${(mb / 1024).toFixed(2)} GB`
  if (Math.abs(mb) >= 100) return `${mb.toFixed(0)} MB`
  if (Math.abs(mb) >= 1) return `${mb.toFixed(1)} MB`
  return `${(mb * 1024).toFixed(0)} KB`
}

export function fmtRate(mbPerSec: number | null | undefined): string {
  if (mbPerSec === null || mbPerSec === undefined || !Number.isFinite(mbPerSec)) return '—'
  return `${fmtMB(mbPerSec)}/s`
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—'
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`
  return `${Math.round(ms)} ms`
}

/** Seconds in, `1d 2h`, `3m 04s`, `12.3 s` out. */
export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—'
  const s = Math.max(0, seconds)
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`
  const h = Math.floor(m / 60)
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n))

/** Local HH:MM:SS. Built by hand: toLocaleTimeString costs an Intl lookup per call, too slow for tables. */
export function fmtTime(epochMs: number | null | undefined): string {
  if (epochMs === null || epochMs === undefined || !Number.isFinite(epochMs)) return '—'
  const d = new Date(epochMs)
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
}

export function fmtDateTime(epochMs: number | null | undefined): string {
  if (epochMs === null || epochMs === undefined || !Number.isFinite(epochMs)) return '—'
  const d = new Date(epochMs)
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${fmtTime(epochMs)}`
}

/** 'ok' under 60 %, 'warn' up to 80 %, 'crit' above: the colour class of a percentage. */
export function level(pct: number | null | undefined, warn = 60, crit = 80): 'ok' | 'warn' | 'crit' {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return 'ok'
  if (pct > crit) return 'crit'
  if (pct > warn) return 'warn'
  return 'ok'
}

export function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s
}
