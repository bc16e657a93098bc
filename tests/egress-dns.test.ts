import { execFileSync } from 'node:child_process'
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { closeSync, constants, openSync } from 'node:fs'
import { mkdtemp, open, rm, stat, writeFile, type FileHandle } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AddressPolicy } from '../src/main/core/egress/address-policy.js'
import { EgressGuard } from '../src/main/core/egress/guard.js'
import { EgressProxy } from '../src/main/core/egress/proxy.js'
import { ValidationError } from '../src/main/core/errors.js'
import { dnsLookup, LOOKUPS_PER_REQUEST, resolveTarget, resolveTargets, type Lookup } from '../src/main/core/egress/resolve.js'
import type { CrawlResult } from '../src/shared/crawl-schemas.js'
import { BrowserConfigSchema } from '../src/shared/crawl-schemas.js'
import { bounded, startService } from './helpers/service.js'

/**
 * The egress guard's name resolution: DNS through c-ares (never libuv's thread pool, which file
 * writes and zlib share), the hosts file and `localhost` without DNS, a timeout that turns a
 * silent resolver into a clear answer, and a bound on the lookups one request may run at once.
 * DNS answers come from a small DNS server on 127.0.0.1 (UDP), so nothing leaves the machine.
 */

// ---------------------------------------------------------------------------------------
// A DNS server that knows a few names.

const RECORDS: Record<string, { a?: string[]; aaaa?: number[][] }> = {
  'pool.test': { a: ['203.0.113.9'], aaaa: [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]] },
  'site.test': { a: ['127.0.0.1'] },
  'private.test': { a: ['10.1.2.3'] },
}
/** Names the server hears and never answers. */
const SILENT = new Set(['silent.test'])

interface DnsServer {
  server: string
  /** Names asked for, in order (one entry per query: A and AAAA each). */
  asked: string[]
  close(): Promise<void>
}

async function startDns(): Promise<DnsServer> {
  const socket: UdpSocket = createSocket('udp4')
  const dns: DnsServer = { server: '', asked: [], close: () => new Promise((r) => socket.close(() => r())) }
  socket.on('message', (query, peer) => {
    // Question: labels from byte 12 up to a zero length, then type and class.
    let at = 12
    const labels: string[] = []
    while (query[at] !== 0 && at < query.length) {
      const len = query[at] as number
      labels.push(query.subarray(at + 1, at + 1 + len).toString('latin1'))
      at += len + 1
    }
    const type = query.readUInt16BE(at + 1)
    const questionEnd = at + 5
    const name = labels.join('.').toLowerCase()
    dns.asked.push(name)
    if (SILENT.has(name)) return
    const record = RECORDS[name]
    const answers: Buffer[] = []
    for (const a of type === 1 ? (record?.a ?? []) : []) answers.push(rr(1, Buffer.from(a.split('.').map(Number))))
    for (const aaaa of type === 28 ? (record?.aaaa ?? []) : []) answers.push(rr(28, Buffer.from(aaaa)))
    const header = Buffer.alloc(12)
    query.copy(header, 0, 0, 2)
    header.writeUInt16BE(0x8180 | (record ? 0 : 3), 2) // a response, recursion available; NXDOMAIN when unknown
    header.writeUInt16BE(1, 4)
    header.writeUInt16BE(answers.length, 6)
    socket.send(Buffer.concat([header, query.subarray(12, questionEnd), ...answers]), peer.port, peer.address)
  })
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()))
  dns.server = `127.0.0.1:${(socket.address() as AddressInfo).port}`
  return dns
}

/** One answer record for the question's name (a pointer to byte 12), TTL 60. */
function rr(type: number, data: Buffer): Buffer {
  const fixed = Buffer.alloc(12)
  fixed.writeUInt16BE(0xc00c, 0)
  fixed.writeUInt16BE(type, 2)
  fixed.writeUInt16BE(1, 4)
  fixed.writeUInt32BE(60, 6)
  fixed.writeUInt16BE(data.length, 10)
  return Buffer.concat([fixed, data])
}

// ---------------------------------------------------------------------------------------

let dns: DnsServer
let dir: string
let hostsFile: string
let target: Server
let targetPort = 0

beforeAll(async () => {
  dns = await startDns()
  dir = await mkdtemp(join(tmpdir(), 'crawldeck-dns-'))
  hostsFile = join(dir, 'hosts')
  await writeFile(
    hostsFile,
    '# a comment\n127.0.0.1\tfromhosts.test  alias.test # trailing\n::1 fromhosts.test\nfe80::1%lo only-zoned.test\n10.9.9.9 pool.test\n',
  )
  target = createServer((req, res) => res.end(`reached ${req.headers.host}`))
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()))
  targetPort = (target.address() as AddressInfo).port
})

afterAll(async () => {
  await dns?.close()
  await new Promise((r) => target?.close(r))
  await rm(dir, { recursive: true, force: true })
})

describe('dnsLookup', () => {
  it('asks DNS for A and AAAA, IPv4 first; an unknown name is ENOTFOUND', async () => {
    const lookup = dnsLookup({ servers: [dns.server], hostsFile: join(dir, 'none') })
    expect(await lookup('pool.test')).toEqual([
      { address: '203.0.113.9', family: 4 },
      { address: '2001:db8::9', family: 6 },
    ])
    expect(await lookup('site.test')).toEqual([{ address: '127.0.0.1', family: 4 }])
    await expect(lookup('unknown.test')).rejects.toMatchObject({ code: 'ENOTFOUND' })
  })

  it('answers names of the hosts file from it, before DNS and in any case; localhost without either', async () => {
    const lookup = dnsLookup({ servers: [dns.server], hostsFile })
    const asked = dns.asked.length
    expect(await lookup('FromHosts.Test.')).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ])
    expect(await lookup('alias.test')).toEqual([{ address: '127.0.0.1', family: 4 }])
    // The hosts file wins over DNS, as with getaddrinfo.
    expect(await lookup('pool.test')).toEqual([{ address: '10.9.9.9', family: 4 }])
    // A zone id says nothing once the name goes to the proxy: such a line is skipped.
    await expect(lookup('only-zoned.test')).rejects.toMatchObject({ code: 'ENOTFOUND' })
    const bare = dnsLookup({ servers: [dns.server], hostsFile: join(dir, 'none') })
    expect(await bare('localhost')).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ])
    expect((await bare('app.localhost')).map((a) => a.address)).toEqual(['127.0.0.1', '::1'])
    expect(dns.asked.slice(asked)).toEqual(['only-zoned.test', 'only-zoned.test'])
  })

  it("resolves while every thread of libuv's pool is blocked", async () => {
    // Each open() of a FIFO with no writer blocks one pool thread until a writer comes: with
    // as many as the pool has threads, no file operation can run until they are released.
    const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4
    const fifos = Array.from({ length: threads }, (_, i) => join(dir, `fifo-${i}`))
    execFileSync('mkfifo', fifos)
    const readers: Array<Promise<FileHandle>> = fifos.map((f) => open(f, 'r'))
    let probeDone = false
    const probe = stat(dir).then(() => (probeDone = true))
    const release: number[] = []
    try {
      const lookup = dnsLookup({ servers: [dns.server], hostsFile })
      const policy = new AddressPolicy(['127.0.0.1/32'])
      const resolved = await bounded(
        Promise.all([
          lookup('pool.test'),
          lookup('fromhosts.test'),
          lookup('localhost'),
          resolveTarget('site.test', policy, lookup),
          resolveTarget('private.test', policy, lookup),
        ]),
        5000,
        'name resolution while the thread pool is full',
      )
      expect(resolved[0].map((a) => a.address)).toEqual(['10.9.9.9'])
      expect(resolved[1].map((a) => a.address)).toEqual(['127.0.0.1', '::1'])
      expect(resolved[3]).toEqual({ kind: 'ok', address: '127.0.0.1' })
      expect(resolved[4]).toMatchObject({ kind: 'blocked' })

      // The whole proxied path too: a name through the egress proxy to a target, pool still full.
      const proxy = new EgressProxy(policy, lookup)
      await proxy.start()
      try {
        const reply = await bounded(proxiedGet(proxy, `http://site.test:${targetPort}/`), 5000, 'a proxied request while the thread pool is full')
        expect(reply).toMatch(/^HTTP\/1\.1 200 /)
        expect(reply).toContain(`reached site.test:${targetPort}`)
      } finally {
        await proxy.close()
      }
      // The pool really was full all along: a stat queued before the lookups has not run yet.
      expect(probeDone).toBe(false)
    } finally {
      // O_RDWR on a FIFO never blocks (Linux) and counts as a writer: every reader wakes up.
      for (const f of fifos) release.push(openSync(f, constants.O_RDWR))
      for (const handle of await Promise.all(readers)) await handle.close()
      for (const fd of release) closeSync(fd)
      await probe
    }
  })
})

/** GET `url` through `proxy` with its credentials on a fresh connection; resolves with the raw reply. */
function proxiedGet(proxy: EgressProxy, url: string): Promise<string> {
  const { username, password } = proxy.credentials
  const auth = Buffer.from(`${username}:${password}`).toString('base64')
  return new Promise((resolve, reject) => {
    const s = connect(Number(new URL(proxy.serverUrl).port), '127.0.0.1', () => {
      s.write(`GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nProxy-Authorization: Basic ${auth}\r\nConnection: close\r\n\r\n`)
    })
    let got = ''
    s.setEncoding('utf8')
    s.on('data', (c: string) => (got += c))
    s.on('end', () => resolve(got))
    s.on('error', reject)
  })
}

describe('a resolver that never answers', () => {
  const never: Lookup = () => new Promise(() => {})

  it('a silent DNS server: the lookup gives up with ETIMEOUT', async () => {
    const lookup = dnsLookup({ servers: [dns.server], hostsFile: join(dir, 'none') })
    const r = await resolveTarget('silent.test', new AddressPolicy(), lookup, 300)
    expect(r).toEqual({ kind: 'unresolved', error: 'ETIMEOUT (no answer within 300 ms)' })
  })

  it('the proxy answers 502 naming the timeout', async () => {
    const proxy = new EgressProxy(new AddressPolicy(), never, 300)
    await proxy.start()
    try {
      const reply = await proxiedGet(proxy, 'http://never.test/')
      expect(reply).toMatch(/^HTTP\/1\.1 502 /)
      expect(reply).toContain('cannot resolve never.test: ETIMEOUT (no answer within 300 ms)')
    } finally {
      await proxy.close()
    }
  })

  it('through the service: the crawl fails with the timeout as its reason, after the pre-check let the URL through', async () => {
    const service = await startService({ block_private_targets: true, max_pages: 1 }, { egressLookup: never })
    try {
      const started = Date.now()
      const { status, body } = await service.postJson('/crawl', { urls: ['http://never.test/'] })
      expect(status).toBe(200)
      const result = body.results[0] as CrawlResult
      expect(result.success).toBe(false)
      expect(result.error_message).toContain('cannot resolve never.test: ETIMEOUT (no answer within 5000 ms)')
      // Two lookups (the pre-check's and the proxy's), each given up after 5 s.
      expect(Date.now() - started).toBeGreaterThanOrEqual(10_000)
    } finally {
      await service.close()
    }
  }, 60_000)
})

describe('lookups per request', () => {
  it('share one time budget: names still waiting when it is spent are not looked up; IP literals are still checked', async () => {
    const asked: string[] = []
    const silent: Lookup = (name) => {
      asked.push(name)
      return new Promise(() => {})
    }
    const hosts = [...Array.from({ length: 20 }, (_, i) => `silent${i}.test`), '10.0.0.1', '[::1]']
    const verdicts = await resolveTargets(hosts, new AddressPolicy(), silent, { timeoutMs: 300 })
    // The first LOOKUPS_PER_REQUEST names used the whole budget; nobody asked about the rest.
    expect(asked).toEqual(hosts.slice(0, LOOKUPS_PER_REQUEST))
    expect(verdicts.get('silent0.test')).toEqual({ kind: 'unresolved', error: expect.stringMatching(/^ETIMEOUT/) })
    expect(verdicts.get('silent19.test')).toEqual({ kind: 'unresolved', error: "ETIMEOUT (no answer within the request's 300 ms)" })
    expect(verdicts.get('10.0.0.1')).toMatchObject({ kind: 'blocked' })
    expect(verdicts.get('[::1]')).toMatchObject({ kind: 'blocked' })
  })

  it(`a batch of 100 names runs at most ${LOOKUPS_PER_REQUEST} lookups at once, and each distinct name once`, async () => {
    let inFlight = 0
    let most = 0
    const asked: string[] = []
    const counting: Lookup = async (name) => {
      asked.push(name)
      inFlight++
      most = Math.max(most, inFlight)
      // Answers on a later turn of the event loop, so that lookups started together overlap.
      await new Promise((r) => setImmediate(r))
      inFlight--
      return [{ address: name === 'n42.test' ? '10.0.0.42' : '203.0.113.1', family: 4 }]
    }
    const guard = await EgressGuard.start([], counting)
    try {
      const urls = Array.from({ length: 100 }, (_, i) => `http://n${i}.test/`)
      const err = await guard.checkRequest(urls, (i) => `urls.${i}`, BrowserConfigSchema.parse({})).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ValidationError)
      expect((err as ValidationError).details).toEqual([expect.objectContaining({ path: 'urls.42' })])
      expect(most).toBe(LOOKUPS_PER_REQUEST)
      expect(asked).toHaveLength(100)

      asked.length = 0
      const same = Array.from({ length: 100 }, (_, i) => `http://same.test/page-${i}`)
      await guard.checkRequest(same, (i) => `urls.${i}`, BrowserConfigSchema.parse({}))
      expect(asked).toEqual(['same.test'])
    } finally {
      await guard.close()
    }
  })
})
