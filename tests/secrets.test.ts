import { describe, expect, it } from 'vitest'
import { parseOptions } from '../src/main/cli/options.js'
import { redactUrl } from '../src/main/core/redact.js'
import { serveDefaults, waitExit, waitReady } from './helpers/serve-process.js'

/*
 * Secrets stay out of logs and process listings: the start-up config logged at debug level has
 * its tokens and the Redis password masked, and tokens given as flags (which `ps` shows every
 * user) draw a warning naming the flags and the safer ways.
 */

const ADMIN = 'admin-secret-token-aaaaaaaa'
const READ = 'read-secret-token-rrrrrrrrr'
const PASSWORD = 'hunter2-redis-password'

describe('secrets on the command line', () => {
  it('says which flags carried a secret: token flags always, a Redis URL only with credentials; the environment never', () => {
    const run = (argv: string[], env: Record<string, string> = {}) => {
      const parsed = parseOptions(argv, env)
      if (parsed.kind !== 'run') throw new Error('expected a run')
      return parsed.exposedSecrets
    }
    expect(run(['--admin-token', ADMIN, `--read-token=${READ}`])).toEqual(['--admin-token', '--read-token'])
    expect(run(['--redis-url', `redis://:${PASSWORD}@127.0.0.1:6379`])).toEqual(['--redis-url'])
    expect(run(['--redis-url', 'redis://127.0.0.1:6379'])).toEqual([])
    expect(run([], { CRAWLDECK_ADMIN_TOKEN: ADMIN, CRAWLDECK_REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:6379` })).toEqual([])
  })

  it('a URL keeps its host and port in logs, never its credentials', () => {
    expect(redactUrl(`redis://crawl:${PASSWORD}@10.0.0.5:6380/2?password=x`)).toBe('redis://***:***@10.0.0.5:6380/2?password=***')
  })
})

describe('debug logs of a real start', () => {
  it('hold no token and no password, mask them where the config is logged, and warn about the flags that carried them', async () => {
    // Port 1: nothing listens, so the store degrades and its URL is logged too.
    const s = serveDefaults(['--log-level', 'debug', '--read-token', READ, '--redis-url', `redis://crawl:${PASSWORD}@127.0.0.1:1/0`], {
      CRAWLDECK_ADMIN_TOKEN: ADMIN,
    })
    const { url } = await waitReady(s)
    // A wrong and a right token, so the auth paths log whatever they log.
    await (await fetch(`${url}/monitor/health`, { headers: { authorization: 'Bearer wrong-token-xxxxxxxxxxxx' } })).arrayBuffer()
    await (await fetch(`${url}/monitor/health`, { headers: { authorization: `Bearer ${ADMIN}` } })).arrayBuffer()
    s.child.kill('SIGTERM')
    await waitExit(s)
    expect(s.stderr).toContain('"msg":"starting"')
    for (const secret of [ADMIN, READ, PASSWORD]) expect(s.stderr).not.toContain(secret)
    expect(s.stderr).toContain('[redacted]')
    expect(s.stderr).toMatch(/--read-token, --redis-url put a secret on the command line/)
    expect(s.stderr).not.toMatch(/--admin-token put/)
  }, 90_000)
})
