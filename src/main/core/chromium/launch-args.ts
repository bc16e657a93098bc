/**
 * Switches every pooled browser is launched with. The machine has no network beyond loopback,
 * so anything that phones home (component updates, sync, safe-browsing fetches, crash upload,
 * QUIC probing) only wastes CPU and fills logs with failures. Containers give /dev/shm 64 MB,
 * which Chromium overflows and then crashes tabs, so shared memory goes to /tmp instead. There is
 * no GPU. No --no-sandbox here: whether browsers are sandboxed is sandbox.ts's decision (off as
 * root), passed to playwright as chromiumSandbox, which adds --no-sandbox itself when it is off.
 */
export const BASE_CHROMIUM_ARGS: readonly string[] = Object.freeze([
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-default-apps',
  '--mute-audio',
  '--disable-extensions',
  '--disable-breakpad',
])

/**
 * Switches a browser config asks for. text_mode: Blink loads no images at all (Crawl4AI passes the
 * same switch) and no web fonts.
 */
export function configSwitches(config: { text_mode: boolean }): string[] {
  return config.text_mode ? ['--blink-settings=imagesEnabled=false', '--disable-remote-fonts'] : []
}

/**
 * Chromium keeps only the last --blink-settings it is given: the operator's chromium_args and
 * text_mode's must be one switch, with every setting of both (text_mode's last, so it wins a clash).
 */
export function mergeBlinkSettings(args: readonly string[]): string[] {
  const prefix = '--blink-settings='
  const settings: string[] = []
  const rest: string[] = []
  for (const arg of args) {
    if (arg.startsWith(prefix))
      settings.push(
        ...arg
          .slice(prefix.length)
          .split(',')
          .filter((s) => s.length > 0),
      )
    else rest.push(arg)
  }
  return settings.length > 0 ? [...rest, prefix + settings.join(',')] : rest
}
