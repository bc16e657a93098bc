import { readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURE_TEXT, startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { cleanEnv, chromiumDescendants, expectAllGone, readStat, ROOT, tempDir } from './helpers/serve-process.js'
import { startService, waitFor, type TestService } from './helpers/service.js'

/*
 * The MCP door driven by the SDK's own client: over Streamable HTTP against the real service
 * (real Chromium, tokens and scopes), and over stdio against `npm run mcp`'s entry as a child
 * process. Every crawl is of the local fixture site.
 */

const ADMIN = 'admin-token-aaaaaaaaaaaa'
const CRAWL = 'crawl-token-cccccccccccc'
const READ = 'read-token-rrrrrrrrrrrrr'

let fx: FixtureServer

beforeAll(async () => {
  fx = await startFixtureServer()
})

afterAll(async () => {
  await fx?.close()
})

type Content = CallToolResult['content'][number]

function textOf(result: CallToolResult, index = 0): string {
  const item = result.content[index] as Content
  if (item.type !== 'text') throw new Error(`content ${index} is ${item.type}, not text`)
  return item.text
}

function jsonOf<T = any>(result: CallToolResult, index = 0): T {
  return JSON.parse(textOf(result, index)) as T
}

/** A successful tool answer; a tool error fails the test with its message. */
function ok(result: unknown): CallToolResult {
  const r = result as CallToolResult
  if (r.isError) throw new Error(`tool error: ${textOf(r)}`)
  return r
}

function toolError(result: unknown): string {
  const r = result as CallToolResult
  expect(r.isError, `expected a tool error, got ${JSON.stringify(r.content).slice(0, 300)}`).toBe(true)
  return textOf(r)
}

describe('MCP over Streamable HTTP (POST /mcp)', () => {
  let s: TestService
  const clients: Client[] = []

  beforeAll(async () => {
    s = await startService({ admin_tokens: [ADMIN], crawl_tokens: [CRAWL], read_tokens: [READ] })
  })

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()))
  })

  afterAll(async () => {
    await s?.close()
  })

  async function connect(token: string | null): Promise<Client> {
    const client = new Client({ name: 'crawldeck-test', version: '1.0.0' })
    const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` }
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', s.url), { requestInit: { headers } }))
    clients.push(client)
    return client
  }

  /** One JSON-RPC message posted as a client would, to see the HTTP answer itself. */
  function post(headers: Record<string, string>): Promise<Response> {
    return fetch(`${s.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    })
  }

  it('lists the crawl tools with the arguments the contract takes, and the monitor resources', async () => {
    const client = await connect(CRAWL)
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name).sort()).toEqual(['crawl', 'execute_js', 'job_status', 'markdown', 'pdf', 'screenshot', 'submit_job'])
    const crawl = tools.find((t) => t.name === 'crawl')
    // The contract's own schema: urls required, browser_config and crawler_config described; the
    // server-written warnings slot is not an argument.
    expect(crawl?.inputSchema.required).toEqual(['urls'])
    expect(Object.keys(crawl?.inputSchema.properties ?? {}).sort()).toEqual(['browser_config', 'crawler_config', 'urls'])
    const markdown = tools.find((t) => t.name === 'markdown')
    expect(Object.keys(markdown?.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(['url', 'f', 'q', 'c']))
    expect(tools.find((t) => t.name === 'execute_js')?.description).toContain('started without --allow-js-code')
    const { resources } = await client.listResources()
    expect(resources.map((r) => r.uri).sort()).toEqual([
      'crawldeck://monitor/browsers',
      'crawldeck://monitor/endpoints',
      'crawldeck://monitor/errors',
      'crawldeck://monitor/health',
    ])
  })

  it('crawl returns the page (title, Markdown) as JSON text and its screenshot as an image', async () => {
    const client = await connect(CRAWL)
    const result = ok(await client.callTool({ name: 'crawl', arguments: { urls: [fx.url('/')], crawler_config: { screenshot: true } } }))
    const body = jsonOf(result)
    expect(body.success).toBe(true)
    const [page] = body.results
    expect(page.url).toBe(fx.url('/'))
    expect(page.metadata.title).toBe(FIXTURE_TEXT.homeTitle)
    expect(page.markdown.raw_markdown).toContain(FIXTURE_TEXT.homeUnique)
    // The PNG travels as image content, not as base64 inside the JSON text.
    expect(page.screenshot).toBe('(image content below)')
    const image = result.content[1] as Content
    expect(image.type).toBe('image')
    if (image.type !== 'image') return
    expect(image.mimeType).toBe('image/png')
    expect(Buffer.from(image.data, 'base64').subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  })

  it('markdown, screenshot and pdf answer one page each, in their own content types', async () => {
    const client = await connect(CRAWL)
    const md = ok(await client.callTool({ name: 'markdown', arguments: { url: fx.url('/'), f: 'raw' } }))
    expect(textOf(md)).toContain(FIXTURE_TEXT.homeHeading)
    expect(jsonOf(md, 1)).toMatchObject({ url: fx.url('/'), filter: 'raw', success: true })

    const shot = ok(await client.callTool({ name: 'screenshot', arguments: { url: fx.url('/about') } }))
    const image = shot.content[0] as Content
    expect(image.type === 'image' && image.mimeType === 'image/png' && Buffer.from(image.data, 'base64').subarray(1, 4).toString()).toBe('PNG')
    expect(jsonOf(shot, 1)).toMatchObject({ url: fx.url('/about'), success: true, mime: 'image/png' })

    const pdf = ok(await client.callTool({ name: 'pdf', arguments: { url: fx.url('/about') } }))
    const blob = pdf.content[0] as Content
    expect(blob.type).toBe('resource')
    if (blob.type !== 'resource' || !('blob' in blob.resource)) throw new Error('no PDF blob')
    expect(blob.resource.mimeType).toBe('application/pdf')
    expect(Buffer.from(blob.resource.blob, 'base64').subarray(0, 5).toString()).toBe('%PDF-')
  })

  it('the monitor resources show the pool and the MCP crawls, counted as their endpoints', async () => {
    const client = await connect(READ)
    const read = async (uri: string) => {
      const { contents } = await client.readResource({ uri })
      expect(contents[0]?.mimeType).toBe('application/json')
      return JSON.parse((contents[0] as { text: string }).text)
    }
    const health = await read('crawldeck://monitor/health')
    expect(health.pool.permanent.active).toBe(true)
    expect(health.queue.max_pages).toBe(s.runtime.config.max_pages)
    const browsers = await read('crawldeck://monitor/browsers')
    expect(browsers.summary.total_count).toBeGreaterThanOrEqual(1)
    expect(browsers.browsers.length).toBe(browsers.summary.total_count)
    // The crawl made through the crawl tool above is a /crawl request like any other.
    const endpoints = await read('crawldeck://monitor/endpoints')
    expect(JSON.stringify(endpoints)).toContain('/crawl')
    const errors = await read('crawldeck://monitor/errors')
    expect(Array.isArray(errors.errors)).toBe(true)
  })

  it('a read token reads the monitor but gets a scope error from a crawl tool, and nothing is crawled', async () => {
    const client = await connect(READ)
    const before = s.eventsOf('request:started').length
    const message = toolError(await client.callTool({ name: 'crawl', arguments: { urls: [fx.url('/')] } }))
    expect(message).toContain('403 forbidden')
    expect(message).toContain('needs the crawl scope; this token has read')
    expect(toolError(await client.callTool({ name: 'markdown', arguments: { url: fx.url('/') } }))).toContain('needs the crawl scope')
    expect(s.eventsOf('request:started').length).toBe(before)
    const { contents } = await client.readResource({ uri: 'crawldeck://monitor/health' })
    expect(JSON.parse((contents[0] as { text: string }).text).pool).toBeDefined()
  })

  it('with auth on, no token or a wrong one is a 401 like on the REST API; GET and DELETE are 405', async () => {
    const none = await post({})
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toContain('Bearer')
    expect((await none.json()).code).toBe('unauthorized')
    expect((await post({ authorization: 'Bearer not-a-token-xxxxxxxxxx' })).status).toBe(401)
    expect((await post({ authorization: `Bearer ${READ}` })).status).toBe(200)
    await expect(connect(null)).rejects.toThrow()
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(`${s.url}/mcp`, { method, headers: { authorization: `Bearer ${ADMIN}` } })
      expect(res.status).toBe(405)
      expect(res.headers.get('allow')).toBe('POST')
    }
  })

  it('execute_js is refused with js_disabled when the server does not allow it', async () => {
    const client = await connect(ADMIN)
    const before = s.eventsOf('request:started').length
    const message = toolError(await client.callTool({ name: 'execute_js', arguments: { url: fx.url('/'), scripts: ['return document.title'] } }))
    expect(message).toContain('403 js_disabled')
    expect(message).toContain('--allow-js-code')
    expect(s.eventsOf('request:started').length).toBe(before)
  })

  it('bad arguments are tool errors naming the field, judged by the contract schema; the server keeps serving', async () => {
    const client = await connect(CRAWL)
    const js = toolError(await client.callTool({ name: 'crawl', arguments: { urls: ['javascript:alert(1)'] } }))
    expect(js).toMatch(/^400 invalid_input: invalid input: urls\.0: /)
    expect(toolError(await client.callTool({ name: 'markdown', arguments: {} }))).toMatch(/^400 invalid_input: .*\burl: /)
    expect(toolError(await client.callTool({ name: 'crawl', arguments: { urls: 'http://example.com' } }))).toContain('urls: ')
    expect(toolError(await client.callTool({ name: 'crawl', arguments: { urls: [fx.url('/')], warnings: ['x'] } }))).toContain('warnings')
    expect(toolError(await client.callTool({ name: 'markdown', arguments: { url: fx.url('/'), f: 'nope' } }))).toContain('f must be one of')
    expect(toolError(await client.callTool({ name: 'job_status', arguments: { task_id: '../etc' } }))).toContain('task_id')
    expect((await client.listTools()).tools.length).toBe(7)
  })

  it('a client that goes away mid-crawl stops the crawl, as a REST client does', async () => {
    const target = fx.url('/gate/mcp-gone')
    const gate = fx.gate('mcp-gone')
    try {
      const client = await connect(CRAWL)
      const finished = s.nextEvent('request:finished', (e) => e.url === target, 45_000)
      const call = client.callTool({ name: 'markdown', arguments: { url: target } }).catch((err: unknown) => err)
      // The page is in the browser, held by the gate: only the caller's going away can end it now.
      await waitFor(() => fx.hits('/gate/mcp-gone') > 0, 30_000, 'the crawl to reach the page')
      await client.close()
      const end = await finished
      expect(end.aborted).toBe(true)
      expect(end.success).toBe(false)
      await call
    } finally {
      gate.release()
    }
  })

  it('submit_job queues a crawl whose results job_status answers once completed', async () => {
    const client = await connect(CRAWL)
    const { task_id } = jsonOf<{ task_id: string }>(ok(await client.callTool({ name: 'submit_job', arguments: { urls: [fx.url('/about')] } })))
    expect(task_id).toMatch(/^crawl_[0-9a-f]{8}$/)
    let status: any = null
    await waitFor(
      async () => {
        status = jsonOf(ok(await client.callTool({ name: 'job_status', arguments: { task_id } })))
        return status.status === 'completed' || status.status === 'failed'
      },
      45_000,
      'the job to finish',
    )
    expect(status.status).toBe('completed')
    expect(status.result.results[0].metadata.title).toBe('About')
  })
})

describe('MCP over stdio (npm run mcp)', () => {
  it('crawls a fixture page, reads the monitor, and exits on close leaving no Chromium behind', async () => {
    const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
    expect(scripts.mcp).toBe('node --import tsx src/main/mcp-stdio.ts')
    const base = tempDir()
    const transport = new StdioClientTransport({
      // Exactly what `npm run mcp` runs, checked above (npm itself would print its banner on stdout).
      command: process.execPath,
      args: ['--import', 'tsx', 'src/main/mcp-stdio.ts', '--data-dir', path.join(base, 'data'), '--log-level', 'info'],
      cwd: ROOT,
      env: Object.fromEntries(Object.entries(cleanEnv({ TMPDIR: base })).filter((e): e is [string, string] => e[1] !== undefined)),
      stderr: 'pipe',
    })
    let stderr = ''
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const client = new Client({ name: 'crawldeck-test', version: '1.0.0' })
    // Anything on stdout that is not an MCP message (a ready line, a stray log) lands here.
    const streamErrors: string[] = []
    client.onerror = (err) => streamErrors.push(err.message)
    let pid: number | null = null
    try {
      await client.connect(transport)
      pid = transport.pid
      expect(pid).not.toBeNull()
      const result = ok(await client.callTool({ name: 'crawl', arguments: { urls: [fx.url('/article')] } }, undefined, { timeout: 60_000 }))
      const page = jsonOf(result).results[0]
      expect(page.metadata.title).toBe(FIXTURE_TEXT.articleTitle)
      expect(page.markdown.raw_markdown).toContain(FIXTURE_TEXT.articleTableCell)
      const { contents } = await client.readResource({ uri: 'crawldeck://monitor/health' })
      expect(JSON.parse((contents[0] as { text: string }).text).pool.permanent.active).toBe(true)
      // The local user has every tool: no tokens over stdio.
      expect(toolError(await client.callTool({ name: 'execute_js', arguments: { url: fx.url('/'), scripts: ['1'] } }))).toContain('js_disabled')
    } catch (err) {
      throw new Error(`${(err as Error).message}\nstderr: ${stderr.slice(-4000)}`, { cause: err })
    }
    expect(streamErrors).toEqual([])
    const browsers = chromiumDescendants(pid as number)
    expect(browsers.length).toBeGreaterThan(0)
    await client.close()
    await waitFor(() => readStat(pid as number) === null || readStat(pid as number)?.state === 'Z', 30_000, 'the MCP process to exit')
    await expectAllGone(browsers)
    // It shut down itself on the end of stdin, and removed its temp folder on the way out.
    expect(stderr).toContain('"why":"stdin closed"')
    expect(stderr).toContain('"msg":"stopped"')
    const root = path.join(base, `crawldeck-${os.userInfo().uid}`)
    expect(readdirSync(root).filter((n) => n.startsWith('run-'))).toEqual([])
  })
})
