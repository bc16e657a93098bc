/**
 * The Chromium switches a request may add to its browser through `browser_config.extra_args`.
 *
 * A switch is a launch option of a process that runs on the server, so a caller with a crawl token
 * who may pass any switch owns the machine: `--renderer-cmd-prefix=/bin/sh -c ...` (and the other
 * *-cmd-prefix and *-launcher switches) runs a command, `--remote-debugging-port` opens an
 * unauthenticated DevTools endpoint, `--user-data-dir` and `--load-extension` read and write where
 * the caller says, `--no-sandbox` turns the renderer sandbox off, and `--proxy-server`,
 * `--host-resolver-rules` or `--force-webrtc-ip-handling-policy` route around the egress guard.
 * Chromium has hundreds of switches and gains more each release, so a deny-list cannot be
 * complete: only the switches below are accepted, each because it can change nothing but how a
 * page is drawn. A value must be one of a fixed set of words, so no value can carry a second
 * switch, a path or a command. Switch names are matched exactly (Chromium reads them
 * case-sensitively on Linux, but lower-cases them on Windows), and only in the `--name` spelling.
 *
 * Left out although harmless, because Playwright's per-context emulation overrides them and they
 * would do nothing: --force-device-scale-factor (deviceScaleFactor), --force-prefers-reduced-motion
 * (reducedMotion), --force-dark-mode (colorScheme). Also left out: --blink-settings (any of
 * Blink's hundreds of settings, some of them security ones), --lang (not rendering; the request's
 * `locale` sets it), and --enable-features / --disable-features (any feature at all).
 *
 * The operator's own `chromium_args` (config file) are not checked: the operator owns the machine.
 * Both doors validate with the schema that calls this, so HTTP and IPC refuse the same inputs.
 */

type SwitchValue =
  /** `--name` alone. */
  | { kind: 'none' }
  /** `--name=word`, one of `words`. */
  | { kind: 'enum'; words: readonly string[] }

interface RequestSwitch {
  readonly value: SwitchValue
  /** Why a request may set it: what it changes, and that it is nothing else. */
  readonly why: string
}

export const REQUEST_SWITCHES: Readonly<Record<string, RequestSwitch>> = Object.freeze({
  'hide-scrollbars': {
    value: { kind: 'none' },
    why: 'draws no scrollbars in screenshots of a headed browser (Playwright already passes it to headless ones).',
  },
  'font-render-hinting': {
    value: { kind: 'enum', words: ['none', 'slight', 'medium', 'full'] },
    why: 'how glyph outlines are hinted by the headless shell (a full Chromium ignores it).',
  },
  'force-color-profile': {
    value: { kind: 'enum', words: ['srgb', 'display-p3-d65'] },
    why: 'the colour space pages are drawn in (and what the CSS media feature color-gamut reports); Playwright passes srgb.',
  },
  'disable-remote-fonts': {
    value: { kind: 'none' },
    why: 'web fonts are not fetched and text falls back to installed fonts: it only removes requests.',
  },
  'disable-lcd-text': {
    value: { kind: 'none' },
    why: 'greyscale instead of subpixel text antialiasing.',
  },
})

/** A name as Chromium would read it (any case, `_` for `-`, one or two leading dashes): for the hint only. */
const LOOSE_NAME = /^-{1,2}([A-Za-z0-9_-]+)$/

function allowedList(): string {
  return Object.keys(REQUEST_SWITCHES)
    .map((n) => `--${n}`)
    .join(', ')
}

function given(value: string | null): string {
  return value === null ? 'and was given none' : `not ${JSON.stringify(value.slice(0, 100))}`
}

/** The switch an entry names, as it is written, for messages: `--flag` of `--flag=value`, quoted when odd. */
export function switchName(arg: string): string {
  const eq = arg.indexOf('=')
  const name = eq === -1 ? arg : arg.slice(0, eq)
  return /^--[A-Za-z0-9_-]{1,100}$/.test(name) ? name : JSON.stringify(name.length > 100 ? `${name.slice(0, 100)}...` : name)
}

/** Null when `arg` may be passed to a request's browser; otherwise why not, naming the switch. */
export function refuseRequestSwitch(arg: string): string | null {
  const eq = arg.indexOf('=')
  const rawName = eq === -1 ? arg : arg.slice(0, eq)
  const value = eq === -1 ? null : arg.slice(eq + 1)
  const name = switchName(arg)
  const spec = rawName.startsWith('--') && Object.hasOwn(REQUEST_SWITCHES, rawName.slice(2)) ? REQUEST_SWITCHES[rawName.slice(2)] : undefined
  if (spec === undefined) {
    const loose = LOOSE_NAME.exec(rawName)?.[1]?.toLowerCase().replace(/_/g, '-')
    const hint = loose !== undefined && Object.hasOwn(REQUEST_SWITCHES, loose) ? ` (switch names are matched exactly: did you mean --${loose}?)` : ''
    return `${name} cannot be set per request${hint}: extra_args takes only switches that change how pages are drawn: ${allowedList()}`
  }
  switch (spec.value.kind) {
    case 'none':
      return value === null ? null : `${name} takes no value`
    case 'enum': {
      const { words } = spec.value
      if (value !== null && words.includes(value)) return null
      return `${name} takes one of ${words.join(', ')} (${name}=${words[0]}), ${given(value)}`
    }
  }
}

/**
 * Index pairs of allowed entries that set the same switch to different values: Chromium would keep
 * only one, and which one would depend on the order the signature sorts them in.
 */
export function conflictingSwitches(args: readonly string[]): Array<{ first: number; second: number; name: string }> {
  const seen = new Map<string, { index: number; arg: string }>()
  const out: Array<{ first: number; second: number; name: string }> = []
  args.forEach((arg, i) => {
    // A refused entry has its own issue already.
    if (refuseRequestSwitch(arg) !== null) return
    const name = switchName(arg)
    const prior = seen.get(name)
    if (prior === undefined) seen.set(name, { index: i, arg })
    else if (prior.arg !== arg) out.push({ first: prior.index, second: i, name })
  })
  return out
}
