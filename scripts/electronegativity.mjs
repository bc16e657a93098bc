#!/usr/bin/env node
/*
 * Electronegativity over the desktop app's sources, failing on any finding not waived in
 * electronegativity-waivers.json. The tool itself exits 0 whatever it finds, so we read its
 * findings and decide.
 *
 * We call its programmatic runner (dist/runner.js) instead of its CLI: the CLI of 1.10.3 breaks
 * at start-up ("_commander2.default.version is not a function") against the newer commander npm
 * hoists here, and the runner is the same scan without the argument parsing. The runner also
 * writes a SARIF report, but asynchronously after it resolves, so the findings are taken from its
 * return value; the report is left in a temp dir for people to read.
 *
 * Usage: node scripts/electronegativity.mjs [dir ...]   (default: src)
 * The built out/ gives the same findings today (the bundler keeps the literal webPreferences);
 * scan it with `node scripts/electronegativity.mjs out` (its waivers would name out/ files).
 * Waivers: [{ "check": "PRELOAD_JS_CHECK", "file": "src/main/desktop/main-window.ts", "reason": "..." }]
 * Each names one check in one file and says why it is acceptable; no wildcards.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, relative, resolve, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
const MIN_REASON = 20

/**
 * Checks a waiver list and returns it normalised. Throws on anything that is not one specific,
 * explained waiver: a missing or wildcard check/file, a directory, a short reason.
 */
export function parseWaivers(value) {
  if (!Array.isArray(value)) throw new Error('the waivers file must hold a JSON array')
  return value.map((w, i) => {
    const where = `waiver #${i + 1}`
    if (typeof w !== 'object' || w === null) throw new Error(`${where} is not an object`)
    const extra = Object.keys(w).filter((k) => !['check', 'file', 'reason'].includes(k))
    if (extra.length) throw new Error(`${where} has unknown keys: ${extra.join(', ')}`)
    const { check, file, reason } = w
    if (typeof check !== 'string' || !/^[A-Z0-9_]+$/.test(check))
      throw new Error(`${where}: "check" must be one Electronegativity check id (e.g. PRELOAD_JS_CHECK)`)
    if (typeof file !== 'string' || file === '' || /[*?]/.test(file) || file.endsWith('/'))
      throw new Error(`${where}: "file" must be one file path (no wildcard, no directory)`)
    if (typeof reason !== 'string' || reason.trim().length < MIN_REASON) throw new Error(`${where}: "reason" must say why (at least ${MIN_REASON} characters)`)
    return { check, file: toPosix(file), reason: reason.trim() }
  })
}

/**
 * Splits findings into waived and unwaived, and lists waivers that matched nothing (stale ones
 * must be removed, so the list always describes the code as it is). ok = nothing unwaived, nothing stale.
 * A finding: { id, file (repo-relative), line, column, severity, confidence, description }.
 */
export function evaluateFindings(findings, waivers) {
  const used = new Set()
  const unwaived = []
  const waived = []
  for (const f of findings) {
    const index = waivers.findIndex((w) => w.check === f.id && w.file === toPosix(f.file))
    if (index === -1) unwaived.push(f)
    else {
      used.add(index)
      waived.push({ finding: f, waiver: waivers[index] })
    }
  }
  const stale = waivers.filter((_, i) => !used.has(i))
  return { ok: unwaived.length === 0 && stale.length === 0, unwaived, waived, stale }
}

/** Runs the scan over one directory; findings carry repo-relative paths ('N/A' for app-wide ones). */
export async function scan(dir, { reportDir } = {}) {
  const require = createRequire(import.meta.url)
  const run = require('@doyensec/electronegativity/dist/runner.js')
  const input = resolve(dir)
  const electronVersion = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')).version
  const output = reportDir ? join(reportDir, `${relative(root, input).replaceAll(sep, '_') || 'root'}.sarif`) : undefined
  const result = await run(
    {
      input,
      output,
      isSarif: true,
      customScan: [],
      // Its only input is a package.json's Electron version (none under src/), and it would fetch
      // GitHub's release list first: no finding to gain, a network call to lose.
      excludeFromScan: ['AvailableSecurityFixesGlobalCheck'],
      severitySet: undefined,
      confidenceSet: undefined,
      isRelative: false,
      isVerbose: false,
      electronUpgrade: undefined,
      // Read from the installed electron: the sources hold no package.json to detect it from, and
      // the tool would otherwise judge them against Electron 0.1's defaults.
      electronVersionOverride: electronVersion,
      parserPlugins: [],
    },
    false,
  )
  const parseErrors = result.errors.filter((e) => !e.tolerable)
  return {
    output,
    parseErrors: parseErrors.map((e) => ({ file: toPosix(relative(root, e.file)), message: e.message })),
    findings: result.issues.map((issue) => ({
      id: issue.id,
      file: issue.file === 'N/A' ? 'N/A' : toPosix(relative(root, issue.file)),
      line: issue.location?.line ?? 0,
      column: issue.location?.column ?? 0,
      severity: issue.severity?.name ?? String(issue.severity),
      confidence: issue.confidence?.name ?? String(issue.confidence),
      description: issue.description,
    })),
  }
}

function toPosix(path) {
  return path.split(sep).join('/')
}

async function main(argv) {
  const dirs = argv.length > 0 ? argv : ['src']
  const waiverFile = join(root, 'electronegativity-waivers.json')
  const waivers = parseWaivers(existsSync(waiverFile) ? JSON.parse(readFileSync(waiverFile, 'utf8')) : [])
  const reportDir = mkdtempSync(join(tmpdir(), 'electronegativity-'))
  const findings = []
  let failed = false
  for (const dir of dirs) {
    const result = await scan(join(root, dir), { reportDir })
    findings.push(...result.findings)
    for (const e of result.parseErrors) {
      failed = true
      console.error(`electronegativity could not parse ${e.file}: ${e.message}`)
    }
  }
  const verdict = evaluateFindings(findings, waivers)
  for (const { finding, waiver } of verdict.waived) console.log(`waived   ${finding.id} ${finding.file}:${finding.line} (${waiver.reason})`)
  for (const f of verdict.unwaived) console.error(`FINDING  ${f.id} ${f.file}:${f.line}:${f.column} [${f.severity}/${f.confidence}] ${f.description}`)
  for (const w of verdict.stale) console.error(`STALE    waiver ${w.check} ${w.file} matches no finding: remove it`)
  console.log(
    `electronegativity: ${dirs.join(', ')}: ${findings.length} finding(s), ${verdict.waived.length} waived, ${verdict.unwaived.length} not waived; SARIF reports in ${reportDir}`,
  )
  return failed || !verdict.ok ? 1 : 0
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (err) => {
      console.error(err)
      process.exitCode = 2
    },
  )
}
