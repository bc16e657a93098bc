import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../src/main/core/logger.js'
import { configSignature, normaliseBrowserConfig } from '../src/main/core/pool/signature.js'
import { allowedSenderFor, registerIpcDoor, type IpcDoor } from '../src/main/ipc/index.js'
import { REQUEST_SWITCHES } from '../src/shared/browser-switches.js'
import { IPC_CHANNELS } from '../src/shared/ipc.js'
import { FIXTURE_TEXT, startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, type TestService } from './helpers/service.js'
import { FakeIpcMain, FakeWindow } from './ipc/fake-electron.js'

/*
 * browser_config.extra_args takes only switches that change how pages are drawn. Everything else
 * (a command prefix, a debugging port, a profile or extension path, the sandbox, a proxy or
 * resolver or WebRTC policy, and any spelling or value that smuggles one in) is a 400 naming the
 * switch, over real HTTP and through the IPC door, before any browser is launched. An allowed
 * switch reaches the browser's command line and its rendering.
 */

let fx: FixtureServer
let service: TestService

beforeAll(async () => {
  fx = await startFixtureServer()
  service = await startService({ max_pages: 2 })
})

afterAll(async () => {
  await service?.close()
  await fx?.close()
})

/** [entry, what the 400's message for it must say (the switch it names)]. */
const REFUSED: Array<[string, string]> = [
  // Each of these ran a command, opened DevTools or re-opened UDP past the egress guard before.
  ['--renderer-cmd-prefix=/bin/sh -c id>x.txt', '--renderer-cmd-prefix cannot be set per request'],
  ['--remote-debugging-port=9339', '--remote-debugging-port cannot be set per request'],
  ['--force-webrtc-ip-handling-policy=default', '--force-webrtc-ip-handling-policy cannot be set per request'],
  ['--user-data-dir=/tmp/crawldeck-profile', '--user-data-dir cannot be set per request'],
  ['--load-extension=/tmp/crawldeck-ext', '--load-extension cannot be set per request'],
  ['--remote-debugging-address=0.0.0.0', '--remote-debugging-address cannot be set per request'],
  ['--remote-debugging-pipe', '--remote-debugging-pipe cannot be set per request'],
  ['--utility-cmd-prefix=/bin/sh -c id', '--utility-cmd-prefix cannot be set per request'],
  ['--gpu-launcher=/bin/sh -c id', '--gpu-launcher cannot be set per request'],
  ['--no-sandbox', '--no-sandbox cannot be set per request'],
  ['--no-zygote', '--no-zygote cannot be set per request'],
  ['--proxy-server=direct://', '--proxy-server cannot be set per request'],
  ['--proxy-pac-url=http://10.0.0.1/p.pac', '--proxy-pac-url cannot be set per request'],
  ['--host-resolver-rules=MAP * 10.0.0.1', '--host-resolver-rules cannot be set per request'],
  ['--disable-web-security', '--disable-web-security cannot be set per request'],
  ['--enable-features=NetworkServiceInProcess', '--enable-features cannot be set per request'],
  ['--js-flags=--allow-natives-syntax', '--js-flags cannot be set per request'],
  // Other spellings Chromium (on some platform) would read as the same switch.
  ['--REMOTE-DEBUGGING-PORT=9339', '--REMOTE-DEBUGGING-PORT cannot be set per request'],
  ['--remote_debugging_port=9339', '--remote_debugging_port cannot be set per request'],
  ['-remote-debugging-port=9339', '"-remote-debugging-port" cannot be set per request'],
  ['--Hide-Scrollbars', '--Hide-Scrollbars cannot be set per request (switch names are matched exactly: did you mean --hide-scrollbars?)'],
  // A switch with spaces, and switches smuggled into values.
  ['--remote-debugging-port 9339', '"--remote-debugging-port 9339" cannot be set per request'],
  [
    '--force-color-profile=srgb --remote-debugging-port=9339',
    '--force-color-profile takes one of srgb, display-p3-d65 (--force-color-profile=srgb), not "srgb --remote-debugging-port=9339"',
  ],
  [
    '--font-render-hinting=none --no-sandbox',
    '--font-render-hinting takes one of none, slight, medium, full (--font-render-hinting=none), not "none --no-sandbox"',
  ],
  ['--hide-scrollbars=--no-sandbox', '--hide-scrollbars takes no value'],
  ['--force-color-profile=/etc/passwd', '--force-color-profile takes one of srgb, display-p3-d65 (--force-color-profile=srgb), not "/etc/passwd"'],
  ['--font-render-hinting', '--font-render-hinting takes one of none, slight, medium, full (--font-render-hinting=none), and was given none'],
  ['--', '"--" cannot be set per request'],
  // Harmless, but Playwright's own emulation would override it: not on the list, so refused.
  ['--force-device-scale-factor=2', '--force-device-scale-factor cannot be set per request'],
]

function browserLaunches(): number {
  return service.eventsOf('browser:launching').length
}

describe('refused switches', () => {
  it('each is a 400 naming the switch at browser_config.extra_args.N, and no browser is launched', async () => {
    const launches = browserLaunches()
    const browsers = service.runtime.pool.list().map((b) => b.id)
    for (const [entry, message] of REFUSED) {
      // After an allowed switch: the path must point at the refused entry, not the first.
      const { status, body } = await service.postJson('/md', { url: fx.url('/'), browser_config: { extra_args: ['--hide-scrollbars', entry] } })
      expect(status, entry).toBe(400)
      expect(body.code, entry).toBe('invalid_input')
      expect(body.details, entry).toEqual([{ path: 'browser_config.extra_args.1', message: expect.stringContaining(message) }])
      expect(body.error, entry).toContain(`browser_config.extra_args.1: ${message}`)
    }
    expect(browserLaunches()).toBe(launches)
    expect(service.runtime.pool.list().map((b) => b.id)).toEqual(browsers)
  })

  it('a batch, the Crawl4AI {type, params} form and a conflicting repeat are refused the same way', async () => {
    const launches = browserLaunches()
    const batch = await service.postJson('/crawl', {
      urls: [fx.url('/'), fx.url('/about')],
      browser_config: { type: 'BrowserConfig', params: { extra_args: ['--remote-debugging-port=9339'] } },
    })
    expect(batch.status).toBe(400)
    expect(batch.body.details).toEqual([
      { path: 'browser_config.extra_args.0', message: expect.stringContaining('--remote-debugging-port cannot be set per request') },
    ])
    const twice = await service.postJson('/md', {
      url: fx.url('/'),
      browser_config: { extra_args: ['--font-render-hinting=none', '--hide-scrollbars', '--font-render-hinting=full'] },
    })
    expect(twice.status).toBe(400)
    expect(twice.body.details).toEqual([
      {
        path: 'browser_config.extra_args.2',
        message: expect.stringContaining('--font-render-hinting is given twice with different values (extra_args.0 and extra_args.2)'),
      },
    ])
    expect(browserLaunches()).toBe(launches)
  })

  it('the IPC door refuses them too', async () => {
    const ipc = new FakeIpcMain()
    const door: IpcDoor = registerIpcDoor({
      ipcMain: ipc,
      service: service.runtime.service,
      live: service.runtime.live,
      isAllowedSender: allowedSenderFor({ appOrigin: 'app://crawldeck' }),
      appInfo: () => ({ version: '1', http_url: null, platform: 'linux' }),
      logger: silentLogger(),
      maxInputBytes: 64 * 1024,
    })
    try {
      const launches = browserLaunches()
      const win = new FakeWindow('app://crawldeck/')
      const result = await ipc.invoke(win.event(), IPC_CHANNELS.call, {
        op: 'markdown',
        input: { url: fx.url('/'), browser_config: { extra_args: ['--renderer-cmd-prefix=/bin/sh -c id'] } },
      })
      expect(result).toMatchObject({
        ok: false,
        error: {
          status: 400,
          details: [{ path: 'browser_config.extra_args.0', message: expect.stringContaining('--renderer-cmd-prefix cannot be set per request') }],
        },
      })
      expect(browserLaunches()).toBe(launches)
    } finally {
      door.dispose()
    }
  })
})

describe('allowed switches', () => {
  it('every one on the list is accepted with a valid value', async () => {
    const sample: Record<string, string> = { 'font-render-hinting': '=medium', 'force-color-profile': '=srgb' }
    const args = Object.keys(REQUEST_SWITCHES).map((name) => `--${name}${sample[name] ?? ''}`)
    expect(normaliseBrowserConfig({ extra_args: args }).extra_args).toEqual([...args].sort())
  })

  it('crawl, reach the browser command line and change the rendering', async () => {
    const extra = ['--force-color-profile=display-p3-d65', '--font-render-hinting=none', '--disable-remote-fonts']
    const cfg = { extra_args: extra }
    const md = await service.postJson('/md', { url: fx.url('/'), browser_config: cfg })
    expect(md.status).toBe(200)
    expect(md.body.markdown).toContain(FIXTURE_TEXT.homeUnique)

    const browser = service.runtime.pool.list().find((b) => b.sig === configSignature(normaliseBrowserConfig(cfg)))
    if (browser?.pid == null) throw new Error('the browser of the allowed config is not in the pool')
    const argv = readFileSync(`/proc/${browser.pid}/cmdline`, 'utf8').split('\0')
    for (const arg of extra) expect(argv).toContain(arg)

    // The page picks its picture by the screen's colour gamut: the default browser (Playwright
    // passes srgb) fetches /img/1.png, the display-p3 one /img/2.png.
    const before = { srgb: fx.hits('/img/1.png'), p3: fx.hits('/img/2.png') }
    expect((await service.postJson('/md', { url: fx.url('/gamut'), crawler_config: { wait_until: 'load' } })).status).toBe(200)
    expect({ srgb: fx.hits('/img/1.png') - before.srgb, p3: fx.hits('/img/2.png') - before.p3 }).toEqual({ srgb: 1, p3: 0 })
    expect((await service.postJson('/md', { url: fx.url('/gamut'), browser_config: cfg, crawler_config: { wait_until: 'load' } })).status).toBe(200)
    expect({ srgb: fx.hits('/img/1.png') - before.srgb, p3: fx.hits('/img/2.png') - before.p3 }).toEqual({ srgb: 1, p3: 1 })
  })
})
