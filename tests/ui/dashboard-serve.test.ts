import { request } from 'node:http'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import Koa from 'koa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dashboard, DASHBOARD_CSP, findRendererDir } from '../../src/main/http/dashboard.js'

/** The /dashboard middleware on its own, over a scratch build directory. */

const repo = resolve(import.meta.dirname, '../..')
let dir: string
const servers: Array<{ close(): void }> = []

async function serve(root: string): Promise<string> {
  const app = new Koa()
  app.use(dashboard({ root }))
  app.use((ctx) => {
    ctx.body = { fallthrough: ctx.path }
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  servers.push(server)
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** A GET that sends the path exactly as written (fetch would normalise dot segments). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base)
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET' }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crawldeck-dash-'))
  await mkdir(join(dir, 'build', 'assets'), { recursive: true })
  await writeFile(join(dir, 'build', 'index.html'), '<!doctype html><script type="module" src="./assets/app-abc123.js"></script>')
  await writeFile(join(dir, 'build', 'assets', 'app-abc123.js'), 'console.log(1)')
  await writeFile(join(dir, 'secret.txt'), 'TOP-SECRET-CONTENT')
})

afterAll(async () => {
  for (const s of servers) s.close()
  await rm(dir, { recursive: true, force: true })
})

describe('dashboard middleware', () => {
  it('serves index.html uncached and hashed assets immutable, with the CSP', async () => {
    const base = await serve(join(dir, 'build'))
    const index = await fetch(`${base}/dashboard/`)
    expect(index.status).toBe(200)
    expect(index.headers.get('content-type')).toContain('text/html')
    expect(index.headers.get('cache-control')).toBe('no-cache')
    expect(index.headers.get('content-security-policy')).toBe(DASHBOARD_CSP)
    expect(index.headers.get('referrer-policy')).toBe('no-referrer')
    expect(index.headers.get('x-content-type-options')).toBe('nosniff')
    const asset = await fetch(`${base}/dashboard/assets/app-abc123.js`)
    expect(await asset.text()).toBe('console.log(1)')
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    const head = await fetch(`${base}/dashboard/assets/app-abc123.js`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect((await fetch(`${base}/dashboard/`, { method: 'POST' })).status).toBe(405)
    expect(await (await fetch(`${base}/monitor/health`)).json()).toEqual({ fallthrough: '/monitor/health' })
  })

  it('redirects / and /dashboard, and deep links to their hash route', async () => {
    const base = await serve(join(dir, 'build'))
    const root = await fetch(`${base}/`, { redirect: 'manual' })
    expect([root.status, root.headers.get('location')]).toEqual([302, '/dashboard/'])
    const bare = await fetch(`${base}/dashboard?x=1`, { redirect: 'manual' })
    expect([bare.status, bare.headers.get('location')]).toEqual([301, '/dashboard/?x=1'])
    const deep = await fetch(`${base}/dashboard/playground`, { redirect: 'manual' })
    expect(deep.headers.get('location')).toBe('/dashboard/#/playground')
  })

  it('answers 404 to every path-traversal spelling', async () => {
    const base = await serve(join(dir, 'build'))
    for (const bad of [
      '/dashboard/../secret.txt',
      '/dashboard/assets/../../secret.txt',
      '/dashboard/%2e%2e/secret.txt',
      '/dashboard/..%2fsecret.txt',
      '/dashboard/..%5csecret.txt',
      '/dashboard/assets/..%2f..%2fsecret.txt',
      '/dashboard/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/dashboard/%252e%252e/secret.txt',
      '/dashboard/assets/%00.js',
      '/dashboard/assets/%E0%A4%A',
      '/dashboard/assets//etc/passwd',
    ]) {
      const res = await rawGet(base, bad)
      expect(res.status, bad).toBe(404)
      expect(res.body).not.toContain('TOP-SECRET-CONTENT')
    }
  })

  it('says to build when the build is missing', async () => {
    const base = await serve(join(dir, 'nothing-here'))
    const res = await fetch(`${base}/dashboard/`)
    expect(res.status).toBe(503)
    expect((await res.json()).error).toContain('npm run build')
  })

  it('finds out/renderer from the source tree and from a bundled out/main', () => {
    expect(findRendererDir(join(repo, 'src/main/http'))).toBe(join(repo, 'out/renderer'))
    expect(findRendererDir(join(repo, 'out/main'))).toBe(join(repo, 'out/renderer'))
  })
})
