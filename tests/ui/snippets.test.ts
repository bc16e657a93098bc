import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  curlSnippet,
  pythonLiteral,
  pythonSdkSnippet,
  pythonSnippet,
  typescriptSnippet,
  type SnippetOptions,
  type SnippetRequest,
} from '../../src/renderer/src/lib/snippets.js'

/*
 * Copy as code: each snippet is run by the real interpreter (curl, Debian's python3 with httpx,
 * node) against an echo server on 127.0.0.1, and the server must receive exactly the request the
 * Playground built: the method, the path, the body byte-for-byte as JSON, and the token only
 * where it was asked for. Hostile strings (quotes, $, backticks, backslashes, newlines, Unicode)
 * must survive each language's quoting.
 */

interface Seen {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

let server: Server
let origin: string
let dir: string
const seen: Seen[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crawldeck-snippets-'))
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      if (req.url?.startsWith('/crawl/stream')) {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' })
        res.write(JSON.stringify({ url: 'a', n: 1 }) + '\n')
        res.end(JSON.stringify({ status: 'completed' }) + '\n')
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ echoed: body === '' ? null : JSON.parse(body) }))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise((r) => server.close(r))
  await rm(dir, { recursive: true, force: true })
})

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${err.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

let fileNo = 0
async function runSnippet(lang: 'curl' | 'python' | 'typescript', code: string, env: Record<string, string> = {}): Promise<string> {
  const file = join(dir, `s${++fileNo}.${lang === 'curl' ? 'sh' : lang === 'python' ? 'py' : 'mjs'}`)
  await writeFile(file, code)
  // Debian's python3, which has python3-httpx; not whatever python3 is first on PATH.
  if (lang === 'curl') return run('sh', [file], env)
  if (lang === 'python') return run('/usr/bin/python3', [file], env)
  return run(process.execPath, [file], env)
}

const HOSTILE = `it's "quoted" $HOME \`id\` $(id) \\back\\slash\\ \n newline \t tab % %s {braces} ''' """ é 漢字 \u2028 \u0000 🙂`

const request: SnippetRequest = {
  method: 'POST',
  path: '/crawl',
  body: {
    urls: [`https://example.test/?q=${encodeURIComponent(HOSTILE)}&a='b'`],
    browser_config: { headless: true, user_agent: HOSTILE, viewport_width: 1280 },
    crawler_config: {
      type: 'CrawlerRunConfig',
      params: { css_selector: `a[href="x"], b[title='y']`, js_code: [HOSTILE], page_timeout: 1.5e4, wait_for: null },
    },
  },
}

describe('copy as code', () => {
  const langs = ['curl', 'python', 'typescript'] as const
  const make = { curl: curlSnippet, python: pythonSnippet, typescript: typescriptSnippet }

  for (const lang of langs) {
    it(`${lang}: sends the body exactly, reads the token from $CRAWLDECK_TOKEN and prints the answer`, async () => {
      seen.length = 0
      const opts: SnippetOptions = { baseUrl: origin, auth: { kind: 'env' } }
      const code = make[lang](request, opts)
      expect(code).not.toContain('s3cret')
      const stdout = await runSnippet(lang, code, { CRAWLDECK_TOKEN: 's3cret-from-env' })
      expect(seen).toHaveLength(1)
      expect(seen[0]!.method).toBe('POST')
      expect(seen[0]!.url).toBe('/crawl')
      expect(seen[0]!.headers.authorization).toBe('Bearer s3cret-from-env')
      expect(JSON.parse(seen[0]!.body)).toEqual(request.body)
      expect(JSON.parse(stdout)).toEqual({ echoed: request.body })
    })

    it(`${lang}: writes the token in only when asked, quoted so that a hostile one survives`, async () => {
      seen.length = 0
      const token = `t'o"k$en\`x\\`
      const withToken = make[lang](request, { baseUrl: origin, auth: { kind: 'token', token } })
      await runSnippet(lang, withToken)
      expect(seen[0]!.headers.authorization).toBe(`Bearer ${token}`)
      const open = make[lang](request, { baseUrl: origin, auth: { kind: 'none' } })
      expect(open).not.toContain('Authorization')
      await runSnippet(lang, open)
      expect(seen[1]!.headers.authorization).toBeUndefined()
    })

    it(`${lang}: a stream prints one line per result as they come`, async () => {
      seen.length = 0
      const code = make[lang]({ ...request, path: '/crawl/stream', stream: true }, { baseUrl: origin, auth: { kind: 'none' } })
      const stdout = await runSnippet(lang, code)
      expect(seen[0]!.url).toBe('/crawl/stream')
      const lines = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown)
      expect(lines).toEqual([{ url: 'a', n: 1 }, { status: 'completed' }])
    })
  }

  it('a GET without a body (a job status) sends no body and no content type', async () => {
    seen.length = 0
    for (const lang of langs) {
      await runSnippet(lang, make[lang]({ method: 'GET', path: '/crawl/job/abc' }, { baseUrl: origin, auth: { kind: 'none' } }))
    }
    expect(seen.map((s) => [s.method, s.url, s.body, s.headers['content-type']])).toEqual(langs.map(() => ['GET', '/crawl/job/abc', '', undefined]))
  })

  it('Python literals: None/True/False, nested, and strings as JSON writes them', () => {
    expect(pythonLiteral({ a: null, b: [true, false], c: 'x"\\' })).toBe(
      '{\n    "a": None,\n    "b": [\n        True,\n        False,\n    ],\n    "c": "x\\"\\\\",\n}',
    )
  })

  it('the SDK snippet loads both config forms and is written only for /crawl and /crawl/stream', () => {
    const code = pythonSdkSnippet(request, { baseUrl: origin, auth: { kind: 'env' } })
    expect(code).toContain('from crawl4ai.docker_client import Crawl4aiDockerClient')
    expect(code).toContain('CrawlerRunConfig.load({\n    "type": "CrawlerRunConfig"')
    expect(code).toContain('os.environ["CRAWLDECK_TOKEN"]')
    expect(pythonSdkSnippet({ method: 'POST', path: '/md', body: {} }, { baseUrl: origin, auth: { kind: 'none' } })).toMatch(/^# The Crawl4AI SDK has no call/)
  })
})
