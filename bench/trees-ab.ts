import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startFixtureServer } from '../tests/helpers/fixture-server.js'
import { closedLoop } from './load.js'
import { median, quantile } from './stats.js'
import { postCrawl } from './suite/crawldeck.js'

/**
 * Side-by-side A/B of two source trees of the whole service, in one run:
 * `npx tsx bench/trees-ab.ts <tree-A> <tree-B>` (e.g. a `git worktree` of an older commit with
 * `node_modules` linked, against this checkout).
 *
 * Each tree runs as an operator runs it (`node --import tsx src/main/serve.ts`, its own process,
 * its own permanent browser, default configuration, port 0, a temp data dir). Both crawl the
 * suite's fixture site on 127.0.0.1 with `POST /crawl {"urls": [url]}` from closed-loop clients
 * in this process. Per round and (page, concurrency) cell, A and B each run one burst of
 * TREES_AB_REQUESTS requests (at least 2c), in an order that alternates by round, so a slow
 * phase of the machine hits both; the ratio of each round's B/A pages/s is kept, and the
 * verdict is the median of those ratios with its spread. Run it alone on the machine.
 *
 * Environment: TREES_AB_PAGES (default "/,/article,/js"), TREES_AB_CONCURRENCY ("4,8"),
 * TREES_AB_ROUNDS (6), TREES_AB_REQUESTS (16), TREES_AB_WARMUP (8 per page and side).
 */

const [treeA, treeB] = process.argv.slice(2).map((t) => resolve(t))
if (!treeA || !treeB) throw new Error('usage: npx tsx bench/trees-ab.ts <tree-A> <tree-B>')
for (const tree of [treeA, treeB]) {
  if (!existsSync(join(tree, 'src/main/serve.ts'))) throw new Error(`${tree} has no src/main/serve.ts`)
  if (!existsSync(join(tree, 'node_modules'))) throw new Error(`${tree} has no node_modules (link the checkout's)`)
}
const PAGES = (process.env.TREES_AB_PAGES ?? '/,/article,/js').split(',')
const CONCURRENCY = (process.env.TREES_AB_CONCURRENCY ?? '4,8').split(',').map(Number)
const ROUNDS = Number(process.env.TREES_AB_ROUNDS ?? 6)
const REQUESTS = Number(process.env.TREES_AB_REQUESTS ?? 16)
const WARMUP = Number(process.env.TREES_AB_WARMUP ?? 8)

interface Side {
  name: 'A' | 'B'
  tree: string
  child: ChildProcess
  url: string
  dataDir: string
}

const READY = /crawldeck ready on (http:\/\/127\.0\.0\.1:\d+)/

function start(name: 'A' | 'B', tree: string): Promise<Side> {
  const dataDir = mkdtempSync(join(tmpdir(), `crawldeck-ab-${name}-`))
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CRAWLDECK_') && k !== 'REDIS_URL') env[k] = v
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/serve.ts', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'], {
    cwd: tree,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((ok, fail) => {
    let out = ''
    const timer = setTimeout(() => fail(new Error(`${name} (${tree}) not ready after 60 s: ${out}`)), 60_000)
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (chunk: string) => {
      out += chunk
      const m = READY.exec(out)
      if (m) {
        clearTimeout(timer)
        ok({ name, tree, child, url: m[1]!, dataDir })
      }
    })
    child.once('exit', (code) => fail(new Error(`${name} exited (${code}) before ready: ${out}`)))
  })
}

/** One closed-loop burst: c clients, `n` requests in all (any failure aborts); pages/s over the wall time, and every latency. */
async function burst(side: Side, url: string, c: number, n: number): Promise<{ pps: number; lat: number[] }> {
  const run = await closedLoop(
    async () => {
      await postCrawl(side.url, [url])
      return null
    },
    n,
    c,
  )
  return { pps: (run.pages * 1000) / run.wallMs, lat: run.latencies }
}

const fixture = await startFixtureServer()
const sides: Side[] = []
const load = [loadavg()[0]!]
try {
  sides.push(await start('A', treeA), await start('B', treeB))
  for (const page of PAGES) for (const side of sides) await burst(side, fixture.url(page), 4, WARMUP)
  const rows: string[] = []
  for (const page of PAGES) {
    for (const c of CONCURRENCY) {
      const n = Math.max(REQUESTS, 2 * c)
      const ratios: number[] = []
      const pps: Record<'A' | 'B', number[]> = { A: [], B: [] }
      const lat: Record<'A' | 'B', number[]> = { A: [], B: [] }
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? sides : [...sides].reverse()
        const got: Partial<Record<'A' | 'B', number>> = {}
        for (const side of order) {
          const b = await burst(side, fixture.url(page), c, n)
          got[side.name] = b.pps
          pps[side.name].push(b.pps)
          lat[side.name].push(...b.lat)
        }
        ratios.push(got.B! / got.A!)
      }
      const f = (v: number) => v.toFixed(2)
      rows.push(
        `| \`${page}\` | ${c} | ${f(median(pps.A))} · ${quantile(lat.A, 0.5).toFixed(0)} ms | ${f(median(pps.B))} · ${quantile(lat.B, 0.5).toFixed(0)} ms | **${f(median(ratios))}×** (${f(Math.min(...ratios))} / ${f(Math.max(...ratios))}) |`,
      )
      console.error(rows[rows.length - 1])
      load.push(loadavg()[0]!)
    }
  }
  console.log(`A = ${treeA}\nB = ${treeB}\n${ROUNDS} rounds, ${REQUESTS} requests per burst (at least 2c); load average (1 min) ${load.map((l) => l.toFixed(1)).join(' → ')}\n`)
  console.log('| page | c | A pages/s · p50 | B pages/s · p50 | B / A pages/s, median of rounds (min / max) |\n|---|---:|---:|---:|---:|')
  console.log(rows.join('\n'))
} finally {
  for (const side of sides) {
    side.child.kill('SIGTERM')
    await new Promise((r) => (side.child.exitCode !== null ? r(null) : side.child.once('exit', r)))
    rmSync(side.dataDir, { recursive: true, force: true })
  }
  await fixture.close()
}
