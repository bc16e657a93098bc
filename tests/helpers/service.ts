import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConfigInput } from '../../src/main/core/config.js'
import type { EngineEventName, EngineEvents } from '../../src/main/core/events.js'
import { silentLogger } from '../../src/main/core/logger.js'
import { createRuntime, type Runtime, type RuntimeDeps } from '../../src/main/core/runtime.js'
import { startHttpServer, type HttpServer } from '../../src/main/http/server.js'
import type { FixtureServer, Gate } from './fixture-server.js'

/**
 * The real service (engine + Koa door) in this test process, on a free port of 127.0.0.1,
 * with its own temp data dir. Tests reach the engine through `runtime` and HTTP through `url`.
 */
export interface TestService {
  runtime: Runtime
  http: HttpServer
  url: string
  dataDir: string
  /** Every engine event since start, in order. */
  log: Array<{ name: EngineEventName; payload: unknown }>
  eventsOf<K extends EngineEventName>(name: K): Array<EngineEvents[K]>
  /** Resolves with the first event of that name (after now) for which `match` holds. */
  nextEvent<K extends EngineEventName>(name: K, match?: (p: EngineEvents[K]) => boolean, timeoutMs?: number): Promise<EngineEvents[K]>
  /** POST with admin auth; resolves once the crawl's context close is over too (see the body). */
  post(path: string, body: unknown, init?: RequestInit): Promise<Response>
  /** The same POST, resolved the moment the answer arrives, as a client sees it (for measuring). */
  postNow(path: string, body: unknown, init?: RequestInit): Promise<Response>
  postJson<T = any>(path: string, body: unknown): Promise<{ status: number; body: T; headers: Headers }>
  get<T = any>(path: string): Promise<{ status: number; body: T }>
  close(): Promise<void>
}

// Every engine event, checked by the compiler: an event added to EngineEvents and missing here
// (or one named here that does not exist) fails the typecheck instead of never being logged.
const ALL_EVENTS = Object.keys({
  'browser:launching': true,
  'browser:launched': true,
  'browser:launch_failed': true,
  'browser:promoted': true,
  'browser:retired': true,
  'browser:closed': true,
  'browser:crashed': true,
  'browser:restarted': true,
  'browser:cleanup': true,
  'lease:acquired': true,
  'lease:released': true,
  'janitor:run': true,
  'admission:changed': true,
  'admission:rejected': true,
  'request:started': true,
  'request:phase': true,
  'request:finished': true,
  'session:opened': true,
  'session:closed': true,
  'webhook:attempt': true,
  'webhook:delivered': true,
  'webhook:failed': true,
  'alert:fired': true,
  'alert:resolved': true,
} satisfies Record<EngineEventName, true>) as EngineEventName[]

/**
 * Tokens, allowed_hosts and cors_origins turn block_private_targets on by default, which would
 * refuse the fixtures these tests crawl on 127.0.0.1: such services are started with it off
 * unless the test sets it. Without them it stays unset, so the default itself is what runs
 * (tests/settings/apply.test.ts depends on that).
 */
function guardDefault(config: ConfigInput): boolean | null {
  const lists = [config.admin_tokens, config.crawl_tokens, config.read_tokens, config.allowed_hosts, config.cors_origins]
  return lists.some((l) => (l?.length ?? 0) > 0) ? false : null
}

export async function startService(config: ConfigInput = {}, deps: Partial<RuntimeDeps> = {}): Promise<TestService> {
  const dataDir = await mkdtemp(join(tmpdir(), 'crawldeck-test-'))
  const logger = deps.logger ?? silentLogger()
  const runtime = await createRuntime({ data_dir: dataDir, port: 0, block_private_targets: guardDefault(config), ...config }, { ...deps, logger })
  let http: HttpServer
  try {
    http = await startHttpServer(runtime, { host: '127.0.0.1', port: 0, logger })
  } catch (err) {
    await runtime.close()
    throw err
  }
  const log: TestService['log'] = []
  for (const name of ALL_EVENTS) runtime.events.on(name, (payload) => log.push({ name, payload }))
  const url = http.url
  // These helpers act as the operator: once tokens are configured (by config or through
  // Settings) they send the first admin token. Tests of the refusals use their own client.
  const adminAuth = (): Record<string, string> => {
    const token = runtime.config.admin_tokens[0]
    return token ? { authorization: `Bearer ${token}` } : {}
  }
  const service: TestService = {
    runtime,
    http,
    url,
    dataDir,
    log,
    eventsOf: (name) => log.filter((e) => e.name === name).map((e) => e.payload as never),
    nextEvent: (name, match, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off()
          reject(new Error(`no ${name} event within ${timeoutMs} ms`))
        }, timeoutMs)
        const off = runtime.events.on(name, (payload) => {
          if (match && !match(payload)) return
          clearTimeout(timer)
          off()
          resolve(payload)
        })
      }),
    postNow: (path, body, init = {}) =>
      fetch(url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...adminAuth() },
        body: typeof body === 'string' ? body : JSON.stringify(body),
        ...init,
      }),
    async post(path, body, init = {}) {
      const res = await service.postNow(path, body, init)
      // A crawl answers before its context has closed, and keeps its slot and lease until then.
      // Tests look at the service between requests, so they get the answer once that is over;
      // tests/crawl-close.test.ts looks at the moment in between with fetch.
      await runtime.crawler.settled()
      return res
    },
    async postJson(path, body) {
      const res = await service.postNow(path, body)
      // POST /crawl writes its answer a result at a time: the last context closes after the
      // headers, so the wait for the closes comes once the whole body is read.
      const text = await res.text()
      await runtime.crawler.settled()
      let parsed: unknown = text
      try {
        parsed = JSON.parse(text)
      } catch {
        // leave as text: the test will say what it got
      }
      return { status: res.status, body: parsed as any, headers: res.headers }
    },
    async get(path) {
      const res = await fetch(url + path, { headers: adminAuth() })
      return { status: res.status, body: (await res.json()) as any }
    },
    async close() {
      await http.close()
      await runtime.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
  return service
}

/** Fails with a clear message instead of waiting for the test timeout when `p` never settles. */
export async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms))),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** Poll a condition (no fixed sleeps): resolves when it holds, rejects after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/**
 * The services and held gates of one test file: `gate()` remembers what it holds so an
 * afterEach can release it even when an assertion failed, and `closeAll()` ends every service.
 */
export class TestScope {
  private readonly services = new Set<TestService>()
  private readonly openGates = new Set<string>()

  constructor(private readonly fixture: () => FixtureServer) {}

  serve = async (...args: Parameters<typeof startService>): Promise<TestService> => {
    const s = await startService(...args)
    this.services.add(s)
    return s
  }

  shutdown = async (s: TestService): Promise<void> => {
    this.services.delete(s)
    await s.close()
  }

  gate = (name: string): Gate => {
    this.openGates.add(name)
    return this.fixture().gate(name)
  }

  releaseGates(): void {
    for (const name of this.openGates) this.fixture().gate(name).release()
    this.openGates.clear()
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.services].map((s) => s.close()))
    this.services.clear()
  }
}
