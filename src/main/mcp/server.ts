import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { ErrorCode, McpError, type CallToolResult, type ReadResourceResult } from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import type { AuthScope } from '../../shared/api-types.js'
import { contract, type CallContext, type OperationName, type OperationOutput, type ServiceImpl } from '../../shared/contract.js'
import type { CrawlResponse, CrawlResult } from '../../shared/crawl-schemas.js'
import { plainJson, type RawJson } from '../../shared/raw-json.js'
import { describeIssues } from '../../shared/validation.js'
import { describeError } from '../core/error-body.js'
import { CrawldeckError, invalidInput } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import { collectBatch } from '../core/service/batch-results.js'
import { VERSION } from '../core/version.js'

/*
 * The MCP door: crawl tools and monitor resources for AI agents, over the same service the HTTP
 * and IPC doors call. Each tool is one contract operation: its arguments are judged by that
 * operation's own input schema and the caller needs that operation's scope, so the rules (URL
 * checks, limits, --allow-js-code, admission, the SSRF guard inside the engine) stay in one place
 * and read the same through every door. One server is built per caller: over HTTP per request
 * (stateless), over stdio once for the local user.
 */

export interface CrawldeckMcpOptions {
  service: ServiceImpl
  logger: Logger
  /** What the caller may do: its token's scope over HTTP; the local user (admin) over stdio. */
  scope: AuthScope
  /** Which door the call came through, for the service's CallContext. */
  transport: CallContext['transport']
  /** The HTTP door's origin as the client addressed it, for links in answers (jobs). */
  origin?: string
  /** Whether the server runs a request's JavaScript (--allow-js-code): said in execute_js's description. */
  allowJs: boolean
}

const RANK: Record<AuthScope, number> = { read: 1, crawl: 2, admin: 3 }

/** Monitor resources: URI, contract operation and what it holds. */
export const MONITOR_RESOURCES = [
  {
    name: 'health',
    uri: 'crawldeck://monitor/health',
    op: 'monitorHealth',
    description: 'CPU, memory, network, pool, admission, janitor and persistence health',
  },
  {
    name: 'browsers',
    uri: 'crawldeck://monitor/browsers',
    op: 'monitorBrowsers',
    description: 'Every browser in the pool (kind, age, pages, memory), with a summary',
  },
  {
    name: 'endpoints',
    uri: 'crawldeck://monitor/endpoints',
    op: 'monitorEndpointStats',
    description: 'Per-endpoint request count, latency percentiles, success and pool-hit rates',
  },
  {
    name: 'errors',
    uri: 'crawldeck://monitor/errors',
    op: 'monitorErrors',
    description: 'The 100 most recent errors, oldest first, and errors grouped by shape',
  },
] as const satisfies ReadonlyArray<{ name: string; uri: string; op: OperationName; description: string }>

type ToolOp = 'crawl' | 'markdown' | 'screenshot' | 'pdf' | 'executeJs' | 'crawlJob' | 'crawlJobStatus'
type ToolAnswer = CallToolResult['content']

interface ToolDef<K extends ToolOp> {
  op: K
  description: string
  answer(output: OperationOutput<K>): ToolAnswer
}

const TOOLS: { [name: string]: ToolDef<ToolOp> } = {
  crawl: tool({
    op: 'crawl',
    description:
      'Crawl 1..100 URLs in headless Chromium and answer one result per URL, in URL order: title and metadata, Markdown (markdown.raw_markdown, fit_markdown), cleaned HTML, links, media. browser_config and crawler_config take Crawl4AI\'s BrowserConfig and CrawlerRunConfig fields (e.g. crawler_config {"screenshot": true, "css_selector": "main"}); screenshots come back as images and PDFs as blobs, not inside the JSON.',
    answer: crawlAnswer,
  }),
  markdown: tool({
    op: 'markdown',
    description:
      "The Markdown of one page. f: 'fit' (default: boilerplate pruned), 'raw' (the whole page) or 'bm25' (only the parts relevant to the query q). The first content item is the Markdown, the second the answer's other fields as JSON.",
    answer: ({ markdown, ...rest }) => [text(markdown), json(rest)],
  }),
  screenshot: tool({
    op: 'screenshot',
    description:
      "A PNG screenshot of one page (full_page for the whole page, clipped at the server's height limit), as an image, with its size and warnings as JSON.",
    answer: ({ screenshot, ...rest }) => [{ type: 'image', data: screenshot, mimeType: rest.mime }, json(rest)],
  }),
  pdf: tool({
    op: 'pdf',
    description: 'A PDF of one page, as an embedded resource blob (base64 application/pdf), with its size and warnings as JSON.',
    answer: ({ pdf, ...rest }) => [{ type: 'resource', resource: { uri: rest.url, mimeType: rest.mime, blob: pdf } }, json(rest)],
  }),
  execute_js: tool({
    op: 'executeJs',
    description:
      "Run scripts in one page after it loads and answer its full crawl result; js_execution_result holds each script's return value. Only on servers started with --allow-js-code; otherwise refused with js_disabled.",
    answer: (result) => resultContent([result], (rest) => json(rest[0])),
  }),
  submit_job: tool({
    op: 'crawlJob',
    description:
      "Queue a crawl of URLs as a job and answer its task_id at once (for long batches); poll job_status with it. Takes the crawl tool's arguments, plus an optional webhook_config {webhook_url} called when it ends.",
    answer: (submitted) => [json(submitted)],
  }),
  job_status: tool({
    op: 'crawlJobStatus',
    description: "A job's status (queued, processing, completed, failed, cancelled) and progress, with its results once completed.",
    answer: ({ result, ...rest }) => (result ? resultContent(result.results, (results) => json({ ...rest, result: { ...result, results } })) : [json(rest)]),
  }),
}

function tool<K extends ToolOp>(def: ToolDef<K>): ToolDef<ToolOp> {
  return def as unknown as ToolDef<ToolOp>
}

/** An McpServer for one caller, its tools and resources bound to `opts.service`. */
export function createMcpServer(opts: CrawldeckMcpOptions): McpServer {
  const server = new McpServer(
    { name: 'crawldeck', version: VERSION },
    {
      instructions:
        'crawldeck crawls web pages in a pool of headless Chromium browsers (tools crawl, markdown, screenshot, pdf, execute_js, submit_job, job_status) and shows the health of that pool as resources (crawldeck://monitor/health, browsers, endpoints, errors).',
    },
  )
  for (const [name, def] of Object.entries(TOOLS)) {
    const description =
      name === 'execute_js' && !opts.allowJs ? `${def.description} This server was started without --allow-js-code: it refuses this tool.` : def.description
    server.registerTool(name, { description, inputSchema: argumentsSchema(def.op) }, (args, extra) => callTool(opts, name, def, args, extra.signal))
  }
  for (const res of MONITOR_RESOURCES) {
    server.registerResource(res.name, res.uri, { description: res.description, mimeType: 'application/json' }, (uri, extra) =>
      readResource(opts, res.op, uri, extra.signal),
    )
  }
  return server
}

async function callTool(opts: CrawldeckMcpOptions, name: string, def: ToolDef<ToolOp>, args: unknown, signal: AbortSignal): Promise<CallToolResult> {
  try {
    checkScope(opts.scope, def.op, `the ${name} tool`)
    const parsed = contract[def.op].input.safeParse(args ?? {})
    if (!parsed.success) throw invalidInput(describeIssues(parsed.error))
    const impl = opts.service[def.op] as (input: unknown, ctx: CallContext) => Promise<unknown>
    let output = await impl(parsed.data, callContext(opts, signal))
    // A batch comes a result at a time (for the HTTP door's streaming writer); an MCP answer is one message.
    if (contract[def.op].response === 'batch') output = await collectBatch(output as Parameters<typeof collectBatch>[0])
    return { content: def.answer(output as never) }
  } catch (err) {
    return { isError: true, content: [text(errorText(err, opts.logger, name))] }
  }
}

async function readResource(
  opts: CrawldeckMcpOptions,
  op: (typeof MONITOR_RESOURCES)[number]['op'],
  uri: URL,
  signal: AbortSignal,
): Promise<ReadResourceResult> {
  try {
    checkScope(opts.scope, op, uri.href)
    const input = contract[op].input.parse({})
    const impl = opts.service[op] as (input: unknown, ctx: CallContext) => Promise<unknown>
    const output = await impl(input, callContext(opts, signal))
    return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(output) }] }
  } catch (err) {
    throw new McpError(ErrorCode.InvalidRequest, errorText(err, opts.logger, uri.href))
  }
}

function callContext(opts: CrawldeckMcpOptions, signal: AbortSignal): CallContext {
  return { signal, transport: opts.transport, ...(opts.origin !== undefined ? { origin: opts.origin } : {}) }
}

/** The scope the contract declares for the operation, checked as the HTTP door checks a route's. */
function checkScope(scope: AuthScope, op: OperationName, what: string): void {
  const need = contract[op].scope
  if (need === 'open' || RANK[scope] >= RANK[need]) return
  throw new CrawldeckError(403, 'forbidden', `${what} needs the ${need} scope; this token has ${scope}`)
}

/** A failure as the HTTP door would answer it: status, code and message; anything unexpected is a 500 logged with a correlation id. */
function errorText(err: unknown, logger: Logger, what: string): string {
  const outcome = describeError(err, logger, { door: 'mcp', call: what })
  return `${outcome.status} ${outcome.code}: ${outcome.message}`
}

/**
 * A tool's arguments as the contract's input schema describes them (JSON Schema, as OpenAPI
 * shows them), for tools/list. Validation stays with the contract's schema in callTool, which
 * says what is wrong the way the HTTP door's 400 does: the schema handed to the SDK accepts any
 * object and only carries the description, merged in by zod's JSON Schema metadata.
 */
function argumentsSchema(op: ToolOp): z.ZodObject {
  const cached = argumentSchemas.get(op)
  if (cached) return cached
  const js = z.toJSONSchema(contract[op].input, { io: 'input', unrepresentable: 'any', target: 'draft-7' }) as Record<string, unknown>
  delete js.$schema
  // The server writes warnings into a parsed request; a caller never sends them.
  const properties = { ...(js.properties as Record<string, unknown>) }
  delete properties.warnings
  const required = ((js.required as string[] | undefined) ?? []).filter((k) => k !== 'warnings')
  const schema = z.looseObject({}).meta({ ...js, properties, required })
  argumentSchemas.set(op, schema)
  return schema
}
const argumentSchemas = new Map<ToolOp, z.ZodObject>()

/**
 * Crawl results as content: the JSON without the binary fields, then each screenshot as an image
 * and each PDF as a blob. Base64 inside text would cost an agent's context megabytes of noise.
 */
function crawlAnswer(response: CrawlResponse): ToolAnswer {
  return resultContent(response.results, (results) => json({ ...response, results }))
}

function resultContent(results: Array<CrawlResult | RawJson<CrawlResult>>, body: (lean: Array<Record<string, unknown>>) => ToolAnswer[number]): ToolAnswer {
  const media: ToolAnswer = []
  const lean = results.map((r) => {
    const { screenshot, pdf, ...rest } = plainJson(r)
    if (screenshot) media.push({ type: 'image', data: screenshot, mimeType: 'image/png' })
    if (pdf) media.push({ type: 'resource', resource: { uri: rest.url, mimeType: 'application/pdf', blob: pdf } })
    return { ...rest, screenshot: screenshot ? '(image content below)' : null, pdf: pdf ? '(blob content below)' : null }
  })
  return [body(lean), ...media]
}

function text(value: string): ToolAnswer[number] {
  return { type: 'text', text: value }
}

function json(value: unknown): ToolAnswer[number] {
  return text(JSON.stringify(value))
}
