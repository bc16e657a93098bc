import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { APP_ENTRY_URL, RENDERER_CSP, appProtocolHandler, appTargetFor, serveAppRequest } from '../../src/main/desktop/app-protocol.js'

/*
 * The app:// protocol's logic on a real folder: what it serves, with which headers, and every way
 * out of the renderer folder it refuses (a secret beside the folder and a symlink to it are the bait).
 */

let base: string
let root: string

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'crawldeck-app-protocol-'))
  root = join(base, 'renderer')
  mkdirSync(join(root, 'assets'), { recursive: true })
  mkdirSync(join(root, 'empty-dir'))
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>crawldeck</title>')
  writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)')
  writeFileSync(join(root, 'assets', 'index-abc.css'), 'body{}')
  writeFileSync(join(root, 'assets', 'logo.svg'), '<svg/>')
  writeFileSync(join(root, 'assets', 'a file.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]))
  writeFileSync(join(root, 'assets', 'blob.xyz'), 'x')
  writeFileSync(join(base, 'secret.txt'), 'SECRET')
  symlinkSync(join(base, 'secret.txt'), join(root, 'assets', 'escape.txt'))
  symlinkSync(base, join(root, 'up'))
  // A link that stays inside the root is fine.
  symlinkSync(join(root, 'index.html'), join(root, 'alias.html'))
})

afterAll(() => rmSync(base, { recursive: true, force: true }))

const get = (url: string, method = 'GET') => serveAppRequest(root, { url, method })

describe('app:// protocol', () => {
  it('serves index.html for / and the files under the root with their Content-Type and the CSP header', async () => {
    const home = await get(APP_ENTRY_URL)
    expect(home.status).toBe(200)
    expect(home.body.toString()).toContain('<title>crawldeck</title>')
    expect(home.headers['Content-Type']).toBe('text/html; charset=utf-8')
    expect(home.headers['Content-Security-Policy']).toBe(RENDERER_CSP)
    expect(home.headers['X-Content-Type-Options']).toBe('nosniff')
    expect((await get('app://crawldeck')).body.toString()).toContain('crawldeck')
    expect((await get('app://crawldeck/index.html#/monitor')).status).toBe(200)
    const types: Array<[string, string]> = [
      ['assets/index-abc.js', 'text/javascript; charset=utf-8'],
      ['assets/index-abc.css', 'text/css; charset=utf-8'],
      ['assets/logo.svg', 'image/svg+xml'],
      ['assets/a%20file.png', 'image/png'],
      ['assets/blob.xyz', 'application/octet-stream'],
      ['alias.html', 'text/html; charset=utf-8'],
    ]
    for (const [path, type] of types) {
      const r = await get(`app://crawldeck/${path}?v=1`)
      expect(r.status, path).toBe(200)
      expect(r.headers['Content-Type'], path).toBe(type)
      expect(r.headers['Content-Length'], path).toBe(String(r.body.length))
    }
    // HEAD: the headers, no body.
    const head = await get('app://crawldeck/assets/index-abc.js', 'HEAD')
    expect(head.status).toBe(200)
    expect(head.body.length).toBe(0)
  })

  it('answers 404 for missing files and folders, 405 for anything but GET/HEAD', async () => {
    for (const path of ['nope.js', 'assets/nope.css', 'empty-dir', 'assets', 'index.html/x'])
      expect((await get(`app://crawldeck/${path}`)).status, path).toBe(404)
    // A folder with a trailing slash means its index.html, which empty-dir has not.
    expect((await get('app://crawldeck/empty-dir/')).status).toBe(404)
    const post = await get(APP_ENTRY_URL, 'POST')
    expect(post.status).toBe(405)
    expect(post.headers.Allow).toBe('GET, HEAD')
  })

  it('refuses every way out of the root, and every other host or scheme', async () => {
    const refused = [
      'app://crawldeck/%2e%2e/secret.txt',
      'app://crawldeck/..%2fsecret.txt',
      'app://crawldeck/assets/..%2F..%2Fsecret.txt',
      'app://crawldeck/%252e%252e/secret.txt',
      'app://crawldeck/..%5csecret.txt',
      'app://crawldeck/assets\\..\\..\\secret.txt',
      'app://crawldeck/%00index.html',
      'app://crawldeck/index.html%00.js',
      `app://crawldeck/${encodeURIComponent(join(base, 'secret.txt'))}`,
      'app://crawldeck/C:%5Cwindows%5Cwin.ini',
      'app://crawldeck/assets/escape.txt',
      'app://crawldeck/up/secret.txt',
      'app://crawldeck/%E0%A4%A',
      'app://evil/index.html',
      'app://crawldeck.evil/index.html',
      'app://CRAWLDECK/index.html',
      'app://crawldeck:99/index.html',
      'app://user:pw@crawldeck/index.html',
      'file:///etc/passwd',
      'http://crawldeck/index.html',
      'not a url',
    ]
    for (const url of refused) {
      const r = await get(url)
      expect([400, 403, 404], url).toContain(r.status)
      expect(r.body.toString(), url).not.toContain('SECRET')
      expect(r.body.toString(), url).not.toContain('<title>')
    }
    // The lexical check alone refuses what the parser leaves (the symlinks need the real-path check).
    expect(appTargetFor(root, 'app://crawldeck/%252e%252e/x')).toMatchObject({ ok: true })
    expect(appTargetFor(root, 'app://crawldeck/..%2fx')).toMatchObject({ ok: false, status: 400 })
    expect(appTargetFor(root, 'app://other/x')).toMatchObject({ ok: false, status: 403 })
    expect((await get('app://crawldeck/assets/escape.txt')).status).toBe(403)
    expect((await get('app://crawldeck/up/secret.txt')).status).toBe(403)
  })

  it('gives protocol.handle a fetch Response', async () => {
    const handler = appProtocolHandler(root)
    const ok = await handler({ url: APP_ENTRY_URL, method: 'GET' })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-security-policy')).toBe(RENDERER_CSP)
    expect(await ok.text()).toContain('<title>crawldeck</title>')
    const missing = await handler({ url: 'app://crawldeck/missing.js', method: 'GET' })
    expect(missing.status).toBe(404)
    expect(missing.headers.get('content-security-policy')).toBe(RENDERER_CSP)
  })
})
