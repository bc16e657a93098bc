/*
 * "Copy as code": the Playground's request written as a cURL command, a Python httpx script, a
 * Python Crawl4AI SDK script and a TypeScript (plain JavaScript-compatible) fetch script. Pure:
 * the Playground builds the request once and both sends it and hands it here, so a snippet is
 * exactly what was sent. Every string from the user (URLs, selectors, scripts, the token) is
 * escaped for the language it lands in; the token is never written unless asked for.
 */

export type SnippetLanguage = 'curl' | 'python' | 'python-sdk' | 'typescript'

export const SNIPPET_LANGUAGES: ReadonlyArray<{ key: SnippetLanguage; label: string }> = [
  { key: 'curl', label: 'cURL' },
  { key: 'python', label: 'Python (httpx)' },
  { key: 'python-sdk', label: 'Python (Crawl4AI SDK)' },
  { key: 'typescript', label: 'TypeScript (fetch)' },
]

/** One HTTP request as the Playground sends it: the contract's method and path, and its JSON body. */
export interface SnippetRequest {
  method: 'GET' | 'POST' | 'DELETE'
  path: string
  body?: unknown
  /** The answer is NDJSON, one result per line as each URL finishes (/crawl/stream). */
  stream?: boolean
}

/** The environment variable the snippets read the token from, unless the user asks for it written in. */
export const TOKEN_ENV = 'CRAWLDECK_TOKEN'

/**
 * How a snippet authenticates: not at all (a service open on loopback), with the token read from
 * $CRAWLDECK_TOKEN, or with this token written into it (only when the user asks).
 */
export type SnippetAuth = { kind: 'none' } | { kind: 'env' } | { kind: 'token'; token: string }

export interface SnippetOptions {
  /** The service's origin, `http://host:port`, without a trailing slash. */
  baseUrl: string
  auth: SnippetAuth
}

function fullUrl(req: SnippetRequest, opts: SnippetOptions): string {
  return opts.baseUrl.replace(/\/+$/, '') + req.path
}

const hasBody = (req: SnippetRequest) => req.method === 'POST' && req.body !== undefined

/** A POSIX shell word that is exactly `s`: single quotes, each ' closed, escaped, reopened. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

export function curlSnippet(req: SnippetRequest, opts: SnippetOptions): string {
  const lines = [`curl -sS${req.stream ? 'N' : ''} -X ${req.method} ${shellQuote(fullUrl(req, opts))}`]
  if (opts.auth.kind === 'env') lines.push(`-H "Authorization: Bearer $${TOKEN_ENV}"`)
  else if (opts.auth.kind === 'token') lines.push(`-H ${shellQuote(`Authorization: Bearer ${opts.auth.token}`)}`)
  if (hasBody(req)) {
    lines.push(`-H 'Content-Type: application/json'`)
    // --data-raw: a body starting with @ is not read as a file name.
    lines.push(`--data-raw ${shellQuote(JSON.stringify(req.body, null, 2))}`)
  }
  return lines.join(' \\\n  ') + '\n'
}

/**
 * A JSON value as a Python literal. A JSON string literal is a valid Python string literal with
 * the same value (its escapes, \" \\ \n \uXXXX, mean the same in both), so strings go as
 * JSON writes them; null/true/false become None/True/False.
 */
export function pythonLiteral(value: unknown, indent = 0): string {
  const pad = '    '.repeat(indent + 1)
  const end = '    '.repeat(indent)
  if (value === null || value === undefined) return 'None'
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'None'
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    return `[\n${value.map((v) => `${pad}${pythonLiteral(v, indent + 1)},`).join('\n')}\n${end}]`
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
    if (entries.length === 0) return '{}'
    return `{\n${entries.map(([k, v]) => `${pad}${JSON.stringify(k)}: ${pythonLiteral(v, indent + 1)},`).join('\n')}\n${end}}`
  }
  return 'None'
}

function pythonHeaders(opts: SnippetOptions): string {
  if (opts.auth.kind === 'env') return `headers = {"Authorization": "Bearer " + os.environ[${JSON.stringify(TOKEN_ENV)}]}`
  if (opts.auth.kind === 'token') return `headers = {"Authorization": ${JSON.stringify(`Bearer ${opts.auth.token}`)}}`
  return 'headers = {}'
}

export function pythonSnippet(req: SnippetRequest, opts: SnippetOptions): string {
  const out = ['import json', 'import os', '', 'import httpx', '', `url = ${JSON.stringify(fullUrl(req, opts))}`, pythonHeaders(opts)]
  const body = hasBody(req) ? ', json=payload' : ''
  if (hasBody(req)) out.push(`payload = ${pythonLiteral(req.body)}`)
  out.push('')
  if (req.stream) {
    out.push(
      `with httpx.stream(${JSON.stringify(req.method)}, url${body}, headers=headers, timeout=None) as r:`,
      '    r.raise_for_status()',
      '    # One JSON result per line, as each URL finishes.',
      '    for line in r.iter_lines():',
      '        if line:',
      '            print(json.dumps(json.loads(line)))',
    )
  } else {
    out.push(
      `r = httpx.request(${JSON.stringify(req.method)}, url${body}, headers=headers, timeout=600)`,
      'r.raise_for_status()',
      'print(json.dumps(r.json(), indent=2))',
    )
  }
  return out.join('\n') + '\n'
}

/** Only /crawl and /crawl/stream have a Crawl4AI SDK call; the rest say so and point to httpx. */
export function sdkSupported(req: SnippetRequest): boolean {
  return req.method === 'POST' && (req.path === '/crawl' || req.path === '/crawl/stream')
}

export function pythonSdkSnippet(req: SnippetRequest, opts: SnippetOptions): string {
  if (!sdkSupported(req)) return `# The Crawl4AI SDK has no call for ${req.method} ${req.path.replace(/\n/g, ' ')}: use the httpx snippet.\n`
  const body = (req.body ?? {}) as { urls?: unknown; browser_config?: unknown; crawler_config?: unknown }
  const out = [
    'import asyncio',
    'import os',
    '',
    'from crawl4ai import BrowserConfig, CrawlerRunConfig',
    'from crawl4ai.docker_client import Crawl4aiDockerClient',
    '',
    `urls = ${pythonLiteral(body.urls ?? [])}`,
    `# load() takes the plain {key: value} form and the typed {"type": ..., "params": ...} form alike.`,
    `browser_config = BrowserConfig.load(${pythonLiteral(body.browser_config ?? {})})`,
    `crawler_config = CrawlerRunConfig.load(${pythonLiteral({ ...((body.crawler_config as object | null) ?? {}), ...(req.stream ? { stream: true } : {}) })})`,
    '',
    '',
    'async def main():',
    `    async with Crawl4aiDockerClient(base_url=${JSON.stringify(opts.baseUrl.replace(/\/+$/, ''))}) as client:`,
  ]
  // The SDK's authenticate() trades an e-mail for a JWT, which crawldeck does not issue: its token is set as is.
  if (opts.auth.kind === 'env') out.push(`        client._token = os.environ[${JSON.stringify(TOKEN_ENV)}]`)
  else if (opts.auth.kind === 'token') out.push(`        client._token = ${JSON.stringify(opts.auth.token)}`)
  if (req.stream) {
    out.push(
      '        async for result in await client.crawl(urls, browser_config=browser_config, crawler_config=crawler_config):',
      '            print(result.url, result.success, result.status_code)',
    )
  } else {
    out.push(
      '        results = await client.crawl(urls, browser_config=browser_config, crawler_config=crawler_config)',
      '        for result in results if isinstance(results, list) else [results]:',
      '            print(result.url, result.success, result.status_code)',
      '            print(result.markdown)',
    )
  }
  out.push('', '', 'asyncio.run(main())')
  return out.join('\n') + '\n'
}

/**
 * TypeScript that is also plain JavaScript (no annotations): `node snippet.mjs` or `npx tsx
 * snippet.ts` run it as written. Strings and the body are JSON literals, valid in both.
 */
export function typescriptSnippet(req: SnippetRequest, opts: SnippetOptions): string {
  const headers: string[] = []
  if (opts.auth.kind === 'env') headers.push(`Authorization: \`Bearer \${process.env.${TOKEN_ENV}}\``)
  else if (opts.auth.kind === 'token') headers.push(`Authorization: ${JSON.stringify(`Bearer ${opts.auth.token}`)}`)
  if (hasBody(req)) headers.push(`'Content-Type': 'application/json'`)
  const out = [`const url = ${JSON.stringify(fullUrl(req, opts))}`]
  if (hasBody(req)) out.push(`const payload = ${JSON.stringify(req.body, null, 2)}`)
  out.push(
    '',
    'const res = await fetch(url, {',
    `  method: ${JSON.stringify(req.method)},`,
    `  headers: { ${headers.join(', ')} },`,
    ...(hasBody(req) ? ['  body: JSON.stringify(payload),'] : []),
    '})',
    'if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`)',
  )
  if (req.stream) {
    out.push(
      '// One JSON result per line, as each URL finishes.',
      'const decoder = new TextDecoder()',
      "let buffered = ''",
      'for await (const chunk of res.body) {',
      '  buffered += decoder.decode(chunk, { stream: true })',
      "  let nl = buffered.indexOf('\\n')",
      '  while (nl >= 0) {',
      '    const line = buffered.slice(0, nl).trim()',
      '    buffered = buffered.slice(nl + 1)',
      '    if (line) console.log(JSON.stringify(JSON.parse(line)))',
      "    nl = buffered.indexOf('\\n')",
      '  }',
      '}',
      'if (buffered.trim()) console.log(JSON.stringify(JSON.parse(buffered)))',
    )
  } else {
    out.push('console.log(JSON.stringify(await res.json(), null, 2))')
  }
  return out.join('\n') + '\n'
}

export function snippet(lang: SnippetLanguage, req: SnippetRequest, opts: SnippetOptions): string {
  switch (lang) {
    case 'curl':
      return curlSnippet(req, opts)
    case 'python':
      return pythonSnippet(req, opts)
    case 'python-sdk':
      return pythonSdkSnippet(req, opts)
    case 'typescript':
      return typescriptSnippet(req, opts)
  }
}
