/*
 * The Playground's run history, kept in the browser (localStorage): the last 50 runs, newest
 * first, each with what is needed to run it again (the form and the config texts) and a short
 * summary of its answer. Nothing here ever holds a token: requests carry none (the session is a
 * cookie, the desktop needs none), and results are summarised, not stored whole.
 */

export const HISTORY_KEY = 'crawldeck.playground.history'
export const HISTORY_MAX = 50

/** One result as history keeps it: enough to list it, not its pages. */
export interface HistoryResult {
  url: string
  success: boolean
  status_code: number | null
  error: string | null
}

export interface HistoryEntry<Form = unknown> {
  id: string
  /** Epoch ms of the run's start. */
  when: number
  mode: string
  /** The contract path the run called, e.g. /crawl. */
  path: string
  /** The request body as sent. */
  body: unknown
  /** The form and the editor texts, so "re-run" puts them back. */
  form: Form
  config_text: { browser: string; crawler: string }
  status: 'ok' | 'failed' | 'error'
  /** The run's error, when the call itself failed. */
  error: string | null
  duration_ms: number
  results: HistoryResult[]
}

/** Results kept per entry: a 100-URL crawl still fits many times over in localStorage's quota. */
const MAX_RESULTS = 100
const MAX_TEXT = 500

const cut = (s: string | null) => (s !== null && s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s)

export function summarise(results: ReadonlyArray<HistoryResult>): HistoryResult[] {
  return results.slice(0, MAX_RESULTS).map((r) => ({ url: cut(r.url) ?? '', success: r.success, status_code: r.status_code, error: cut(r.error) }))
}

function isEntry(v: unknown): v is HistoryEntry {
  if (v === null || typeof v !== 'object') return false
  const e = v as Record<string, unknown>
  return typeof e.id === 'string' && typeof e.when === 'number' && typeof e.mode === 'string' && typeof e.path === 'string' && Array.isArray(e.results)
}

/** The stored history; whatever is not an entry (another version's, a hand edit) is dropped. */
export function loadHistory(storage: Storage | undefined = globalThis.localStorage): HistoryEntry[] {
  try {
    const raw = storage?.getItem(HISTORY_KEY)
    if (!raw) return []
    const value: unknown = JSON.parse(raw)
    return Array.isArray(value) ? value.filter(isEntry).slice(0, HISTORY_MAX) : []
  } catch {
    return []
  }
}

/** The history with `entry` first and at most 50 kept; saved, and returned. */
export function addToHistory(entry: HistoryEntry, storage: Storage | undefined = globalThis.localStorage): HistoryEntry[] {
  const next = [entry, ...loadHistory(storage).filter((e) => e.id !== entry.id)].slice(0, HISTORY_MAX)
  save(next, storage)
  return next
}

export function clearHistory(storage: Storage | undefined = globalThis.localStorage): void {
  storage?.removeItem(HISTORY_KEY)
}

function save(entries: HistoryEntry[], storage: Storage | undefined): void {
  if (!storage) return
  let kept = entries
  // A full quota drops the oldest entries rather than the run just made.
  while (kept.length > 0) {
    try {
      storage.setItem(HISTORY_KEY, JSON.stringify(kept))
      return
    } catch {
      kept = kept.slice(0, -1)
    }
  }
}
