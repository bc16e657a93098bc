import { mkdir } from 'node:fs/promises'
import { Validator } from '@seriousme/openapi-schema-validator'
import type Router from '@koa/router'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { contract, type Operation, type OperationName } from '../src/shared/contract.js'
import { silentLogger } from '../src/main/core/logger.js'
import { openApiPath } from '../src/main/http/openapi.js'
import { contractRouter } from '../src/main/http/routes.js'
import { startService, type TestService } from './helpers/service.js'

/*
 * GET /openapi.json: a valid OpenAPI 3.1 document (checked with a maintained validator, every
 * $ref resolved) that describes exactly the routes the Koa router registers, each with its
 * contract scope; every described route answers on the live service; and GET /docs, the
 * reference page, loads in Chromium offline with no console error and lists every operation.
 */

const ADMIN = 'openapi-admin-token-aaaaaaaa'
const SHOTS = '/tmp/shots'
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

let s: TestService
let browser: Browser | null = null
let doc: any

beforeAll(async () => {
  s = await startService({ launch_permanent: false, prewarm_pages: 0, admin_tokens: [ADMIN] })
  const res = await fetch(`${s.url}/openapi.json`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  doc = await res.json()
}, 30_000)

afterAll(async () => {
  await browser?.close()
  await s?.close()
})

/** `METHOD /path/{param}` of every operation the document describes. */
function documented(): string[] {
  const out: string[] = []
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>))
    for (const m of METHODS) if (item[m]) out.push(`${m.toUpperCase()} ${path}`)
  return out.sort()
}

describe('GET /openapi.json', () => {
  it('is open (no token needed) and a valid OpenAPI 3.1 document whose every $ref resolves', async () => {
    expect(doc.openapi).toMatch(/^3\.1\./)
    const validator = new Validator()
    const result = await validator.validate(structuredClone(doc))
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([])
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
    // Throws on a $ref that points nowhere.
    expect(() => validator.resolveRefs()).not.toThrow()
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' })
  })

  it('describes exactly the routes the router registers, each with its scope, inputs and error answers', async () => {
    const router = contractRouter(s.runtime.service, silentLogger(), { auth: s.http.auth, bodyLimitBytes: 1024 })
    const registered = new Set<string>()
    for (const layer of (router as Router).stack)
      for (const m of layer.methods) if (m !== 'HEAD') registered.add(`${m} ${openApiPath(layer.path as string).path}`)
    expect(registered.size).toBe(Object.keys(contract).length)
    expect(documented()).toEqual([...registered].sort())

    for (const name of Object.keys(contract) as OperationName[]) {
      const op = contract[name] as Operation
      const { path, params } = openApiPath(op.path)
      const d = doc.paths[path][op.method.toLowerCase()]
      expect(d.operationId).toBe(name)
      expect(d.summary).toBe(op.summary)
      expect(d['x-crawldeck-scope'], name).toBe(op.scope)
      if (op.scope !== 'open') expect(d.security[0].bearer, name).toContain(op.scope)
      else expect(d.security, name).toContainEqual({})
      for (const p of params)
        expect(d.parameters, `${name} path parameter ${p}`).toContainEqual(expect.objectContaining({ name: p, in: 'path', required: true }))
      if (op.method === 'POST') expect(d.requestBody.content['application/json'].schema.type, name).toBe('object')
      else expect(d.requestBody, name).toBeUndefined()
      for (const status of ['400', '401', '403', '429'])
        expect(d.responses[status], `${name} ${status}`).toEqual({ $ref: `#/components/responses/Error${status}` })
      if (op.method === 'POST') expect(d.responses['413'], name).toBeDefined()
      expect(d.responses[String(op.successStatus ?? 200)], name).toBeDefined()
    }
    // The inputs are the contract's zod schemas: a GET's query parameters, a POST's body fields.
    const requests = doc.paths['/monitor/requests'].get
    expect(requests.parameters).toContainEqual(
      expect.objectContaining({ name: 'limit', in: 'query', required: false, schema: expect.objectContaining({ type: 'integer', maximum: 1000 }) }),
    )
    const crawl = doc.paths['/crawl'].post.requestBody.content['application/json'].schema
    expect(crawl.required).toContain('urls')
    expect(crawl.properties.urls).toMatchObject({ type: 'array', maxItems: 100 })
    expect(doc.paths['/metrics'].get.responses['200'].content).toHaveProperty(['text/plain; version=0.0.4'])
    expect(doc.components.schemas.ErrorBody.required).toEqual(['error', 'code'])
  })

  it('every described route answers on the live service: none is a 404 "no route" or a 405', async () => {
    const auth = { authorization: `Bearer ${ADMIN}` }
    for (const entry of documented()) {
      const [method, path] = entry.split(' ') as [string, string]
      const op = doc.paths[path][method.toLowerCase()]
      // A path parameter filled with a value its schema allows, else a plain word.
      const url = path.replace(/\{(\w+)\}/g, (_, p: string) => {
        const schema = op.parameters.find((x: any) => x.name === p)?.schema ?? {}
        return schema.pattern === '^crawl_[0-9a-f]{8}$' ? 'crawl_00000000' : 'probe'
      })
      const controller = new AbortController()
      // A POST gets a body no schema accepts (an array): validation answers before anything runs.
      const res = await fetch(s.url + url, {
        method,
        headers: { ...auth, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        body: method === 'POST' ? '[]' : undefined,
        signal: controller.signal,
      })
      const text = op.responses['200']?.content?.['text/event-stream'] ? '' : await res.text()
      controller.abort()
      expect(res.status, `${entry}: ${text.slice(0, 200)}`).not.toBe(405)
      if (res.status === 404) expect(text, entry).not.toMatch(/no route/)
      if (method === 'POST') expect(res.status, `${entry}: ${text.slice(0, 200)}`).toBe(400)
    }
  })
})

describe('GET /docs', () => {
  it('loads in Chromium from this service alone, with no console error, and lists every operation', async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
    await mkdir(SHOTS, { recursive: true })
    const origin = new URL(s.url).origin
    for (const width of [1440, 375]) {
      const page = await browser.newPage({ viewport: { width, height: 900 } })
      const problems: string[] = []
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`)
      })
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
      page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`))
      page.on('request', (r) => {
        if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) problems.push(`outside request: ${r.url()}`)
      })
      const res = await page.goto(`${s.url}/docs`)
      expect(res?.status()).toBe(200)
      expect(res?.headers()['content-security-policy']).toMatch(/default-src 'none'.*script-src 'self'/)
      await page
        .locator('.opblock')
        .nth(Object.keys(contract).length - 1)
        .waitFor({ timeout: 20_000 })
      expect(await page.locator('.opblock').count()).toBe(Object.keys(contract).length)
      const text = await page.locator('#swagger-ui').innerText()
      expect(text).toContain('crawldeck')
      expect(text).toContain('/monitor/health')
      for (const p of Object.keys(doc.paths)) expect(text, p).toContain(p)
      await page.screenshot({ path: `${SHOTS}/h6-docs-${width}.png` })
      // One operation opened and tried, signed in as the dashboard is (its session cookie): the
      // call goes out from the page and its answer renders, highlighted, under the same CSP.
      const signIn = await page.request.post(`${s.url}/auth/session`, { data: { token: ADMIN } })
      expect(signIn.status()).toBe(200)
      const block = page.locator('.opblock', { hasText: '/monitor/requests' }).first()
      await block.locator('.opblock-summary').click()
      await block.locator('.parameters').waitFor()
      await block.getByRole('button', { name: 'Try it out' }).click()
      await block.getByRole('button', { name: 'Execute' }).click()
      const status = block.locator('.live-responses-table .response .response-col_status').first()
      await status.waitFor({ timeout: 10_000 })
      expect((await status.innerText()).trim()).toBe('200')
      expect(await block.locator('.live-responses-table .highlight-code').first().innerText()).toContain('"active"')
      await block.locator('.live-responses-table').first().scrollIntoViewIfNeeded()
      await page.screenshot({ path: `${SHOTS}/h6-docs-open-${width}.png` })
      expect(problems).toEqual([])
      await page.close()
    }
  }, 60_000)

  it('/docs/ redirects to /docs; other files under /docs are 404; /docs refuses POST', async () => {
    const slash = await fetch(`${s.url}/docs/`, { redirect: 'manual' })
    expect(slash.status).toBe(301)
    expect(slash.headers.get('location')).toBe('/docs')
    expect((await fetch(`${s.url}/docs/assets/package.json`)).status).toBe(404)
    expect((await fetch(`${s.url}/docs/assets/..%2fpackage.json`)).status).toBe(404)
    expect((await fetch(`${s.url}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200)
    expect((await fetch(`${s.url}/openapi.json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(405)
  })
})
