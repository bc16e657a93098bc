/**
 * Switches every pooled browser is launched with. The machine has no network beyond loopback,
 * so anything that phones home (component updates, sync, safe-browsing fetches, crash upload,
 * QUIC probing) only wastes CPU and fills logs with failures. We often run as root, where
 * Chromium refuses to start without --no-sandbox. Containers give /dev/shm 64 MB, which Chromium
 * overflows and then crashes tabs, so shared memory goes to /tmp instead. There is no GPU.
 */
export const BASE_CHROMIUM_ARGS: readonly string[] = Object.freeze([
  '--no-sandbox',
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
