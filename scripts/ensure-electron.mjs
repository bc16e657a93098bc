// Runs before `npm start`: the desktop app needs Electron's own binary, which electron 45 no longer
// fetches at install time (and electron-vite reads its path file without fetching it). When it is
// missing, Electron's own installer gets it; when that cannot work (offline, an old Node), one line
// says what is missing and how to get it, instead of a stack trace from deep inside the tooling.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

/** Node the desktop tooling needs (electron 45's own engines field); the service alone runs on older. */
const DESKTOP_NODE = [22, 12]

export function electronDir() {
  if (process.env.CRAWLDECK_ELECTRON_PACKAGE) return process.env.CRAWLDECK_ELECTRON_PACKAGE
  return dirname(createRequire(import.meta.url).resolve('electron/package.json'))
}

/** The binary is there as Electron's installer leaves it: path.txt naming a file of the right version. */
export function electronInstalled(dir) {
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) return existsSync(process.env.ELECTRON_OVERRIDE_DIST_PATH)
  try {
    const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version
    const installed = readFileSync(join(dir, 'dist', 'version'), 'utf8')
      .trim()
      .replace(/^v/, '')
    const binary = readFileSync(join(dir, 'path.txt'), 'utf8').trim()
    return installed === version && binary !== '' && existsSync(join(dir, 'dist', binary))
  } catch {
    return false
  }
}

function nodeTooOld(version = process.versions.node) {
  const [major, minor] = version.split('.').map(Number)
  return major < DESKTOP_NODE[0] || (major === DESKTOP_NODE[0] && minor < DESKTOP_NODE[1])
}

/** The installer's failure in a few words: its last error line, never its stack. */
function reasonOf(output) {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('at '))
  const last = lines.findLast((l) => /error|fail|ENOTFOUND|EAI_AGAIN|ECONN|ETIMEDOUT|certificate/i.test(l)) ?? lines.at(-1) ?? 'no output'
  return last.length > 160 ? `${last.slice(0, 157)}...` : last
}

export function ensureElectron() {
  const dir = electronDir()
  // Electron 45's own tooling declares Node >= 22.12; the service alone runs on 20.19. Said, not enforced.
  const nodeNote = nodeTooOld() ? `; Electron's tooling expects Node ${DESKTOP_NODE.join('.')} or newer, this is ${process.versions.node}` : ''
  if (electronInstalled(dir)) return { ok: true, note: nodeNote === '' ? null : `crawldeck:${nodeNote.slice(1)}.` }
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version
  process.stdout.write(`crawldeck: Electron ${version}'s binary is not installed; fetching it with Electron's installer...\n`)
  const run = spawnSync(process.execPath, [join(dir, 'install.js')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15 * 60_000 })
  if (run.status === 0 && electronInstalled(dir)) return { ok: true, note: null }
  const why = run.error ? run.error.message : reasonOf(`${run.stdout ?? ''}\n${run.stderr ?? ''}`)
  return {
    ok: false,
    line:
      `crawldeck: Electron ${version}'s binary is missing and could not be fetched (${why}${nodeNote}): ` +
      `run \`npx install-electron --no\` with network access, or set ELECTRON_OVERRIDE_DIST_PATH to an unpacked Electron ${version}; ` +
      '`npm run serve` runs the service and its /dashboard without Electron.',
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outcome = ensureElectron()
  if (outcome.ok && outcome.note) process.stderr.write(`${outcome.note}\n`)
  if (!outcome.ok) {
    process.stderr.write(`${outcome.line}\n`)
    process.exit(1)
  }
}
