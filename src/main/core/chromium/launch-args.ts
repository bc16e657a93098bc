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
