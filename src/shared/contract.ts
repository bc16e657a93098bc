import type { z } from 'zod'
import { CrawlRequestSchema, SingleUrlRequestSchema, type CrawlResponse, type CrawlResult } from './crawl-schemas.js'
import type { CrawlBatch, HealthResponse, HtmlResponse, MarkdownResponse, PdfResponse, ScreenshotResponse, StreamItem, StreamLine } from './api-types.js'
import { ExecuteJsRequestSchema, MarkdownRequestSchema, PdfRequestSchema, ScreenshotRequestSchema } from './route-requests.js'
import { SettingsPatchSchema, type SettingsAnswer } from './settings.js'
import { ConfigDumpRequestSchema, type ConfigDumpResponse, type ConfigSchemaResponse } from './crawl4ai/dump.js'
import { CrawlJobRequestSchema, JobIdInput, JobListQuery, type JobListResponse, type JobStatusResponse, type JobSubmitResponse } from './job-schemas.js'
import { WebhooksQuery, type WebhooksResponse } from './monitor-webhooks.js'
import type { FleetResponse } from './monitor-fleet.js'
import type { AlertsResponse } from './monitor-alerts.js'
import {
  CloseSessionInput,
  EmptyBody,
  EndpointHistoryQuery,
  KillBrowserInput,
  LogQuery,
  NoQuery,
  RequestsQuery,
  RestartBrowserInput,
  TimelineQuery,
} from './monitor-schemas.js'
import type {
  BrowsersResponse,
  CacheClearResponse,
  CleanupResponse,
  CloseSessionResponse,
  EndpointHistoryResponse,
  EndpointStatsResponse,
  ErrorsResponse,
  JanitorEvent,
  KillResponse,
  LiveMessage,
  MonitorHealth,
  RequestsResponse,
  ResetResponse,
  RestartResponse,
  SessionsResponse,
  TimelineResponse,
} from './monitor-types.js'

/**
 * Every operation crawldeck offers, once: its HTTP method and path, the zod schema of its
 * input and the type of its output. The Koa routes and the IPC handlers are generated from
 * this table, so a new operation is one entry here plus one service method.
 */
export type HttpMethod = 'GET' | 'POST' | 'DELETE'

/** Token scopes over HTTP, each containing the one before: read < crawl < admin. */
export type OperationScope = 'open' | 'read' | 'crawl' | 'admin'

export interface Operation<I extends z.ZodType = z.ZodType, O = unknown, S = O> {
  /** GET and DELETE take their input from the query string, POST from a JSON body. */
  method: HttpMethod
  /**
   * A `:name` segment is a path parameter: the HTTP door puts its value into the input under
   * `name` before validation (over IPC the caller passes it in the input).
   */
  path: string
  /** The HTTP status of a successful answer when it is not 200 (202 for work accepted for later). */
  successStatus?: number
  input: I
  /**
   * 'json': one JSON body; 'batch': one JSON body `{results: [...], success}` that the engine
   * hands over a result at a time, in URL order, so the HTTP door writes each result as it is
   * ready and the IPC door collects them; 'ndjson': an async stream, one JSON value per line;
   * 'live': the monitor's push stream (SSE over HTTP); 'text': a preformatted body (Prometheus).
   */
  response: 'json' | 'batch' | 'ndjson' | 'live' | 'text'
  /** Counted as a crawl endpoint by the monitor and admission. */
  crawl: boolean
  /**
   * Who may call it over HTTP: 'open' (anyone: liveness probes), or the lowest token scope
   * allowed. Declared here, beside the route, so the HTTP door checks the scope of the route that
   * matched and no table keyed by path strings can disagree with the router.
   */
  scope: OperationScope
  /**
   * For an 'open' operation: what a caller with no token scope sees of the answer. Anyone can ask
   * an open route, so its full answer (versions, PIDs, paths, error texts) is for signed-in
   * callers only.
   */
  publicView?(output: O): unknown
  /**
   * When the parsed input asks for it, the call is served by another operation of the same input
   * (its name) instead: /crawl with crawler_config.stream answers as /crawl/stream does. A door
   * that cannot stream (IPC) may keep this operation's own answer.
   */
  streamsWhen?(input: z.output<I>): string | null
  summary: string
  /** Phantom field carrying the output type, what a caller receives; never set at run time. */
  readonly __output?: O
  /** Phantom field: what the engine's method returns, when a door assembles the output ('batch'). */
  readonly __serves?: S
}

function op<O, S = O>() {
  return <I extends z.ZodType>(def: Omit<Operation<I, O, S>, '__output' | '__serves'>): Operation<I, O, S> => def
}

export const contract = {
  crawl: op<CrawlResponse, CrawlBatch>()({
    method: 'POST',
    path: '/crawl',
    input: CrawlRequestSchema,
    response: 'batch',
    crawl: true,
    scope: 'crawl',
    // Crawl4AI's clients ask for a stream this way too.
    streamsWhen: (input) => ((input.crawler_config as { stream?: boolean }).stream === true ? 'crawlStream' : null),
    summary: 'Crawl 1..100 URLs; one result per URL (NDJSON as /crawl/stream when crawler_config.stream is true)',
  }),
  crawlStream: op<AsyncIterable<StreamLine>, AsyncIterable<StreamItem>>()({
    method: 'POST',
    path: '/crawl/stream',
    input: CrawlRequestSchema,
    response: 'ndjson',
    crawl: true,
    scope: 'crawl',
    summary: 'Crawl URLs, streaming one NDJSON result per URL as each finishes',
  }),
  markdown: op<MarkdownResponse>()({
    method: 'POST',
    path: '/md',
    input: MarkdownRequestSchema,
    response: 'json',
    crawl: true,
    scope: 'crawl',
    summary: 'Markdown of one page: raw, or filtered by pruning (fit) or by a BM25 query (bm25)',
  }),
  html: op<HtmlResponse>()({
    method: 'POST',
    path: '/html',
    input: SingleUrlRequestSchema,
    response: 'json',
    crawl: true,
    scope: 'crawl',
    summary: 'Cleaned HTML of one page',
  }),
  screenshot: op<ScreenshotResponse>()({
    method: 'POST',
    path: '/screenshot',
    input: ScreenshotRequestSchema,
    response: 'json',
    crawl: true,
    scope: 'crawl',
    summary: 'PNG screenshot of one page, base64',
  }),
  pdf: op<PdfResponse>()({
    method: 'POST',
    path: '/pdf',
    input: PdfRequestSchema,
    response: 'json',
    crawl: true,
    scope: 'crawl',
    summary: 'PDF of one page, base64',
  }),
  executeJs: op<CrawlResult>()({
    method: 'POST',
    path: '/execute_js',
    input: ExecuteJsRequestSchema,
    response: 'json',
    crawl: true,
    scope: 'crawl',
    summary: 'Run scripts in one page (servers started with --allow-js-code only) and answer its full result',
  }),
  health: op<HealthResponse>()({
    method: 'GET',
    path: '/health',
    input: NoQuery,
    response: 'json',
    crawl: false,
    scope: 'open',
    publicView: (h) => ({ status: h.status, timestamp: h.timestamp }),
    summary: 'Service health: 200 when the permanent browser is up, 503 otherwise; the details need the read scope',
  }),

  monitorHealth: op<MonitorHealth>()({
    method: 'GET',
    path: '/monitor/health',
    input: NoQuery,
    response: 'json',
    crawl: false,
    scope: 'read',
    summary: 'CPU, memory, network, pool, janitor and persistence health',
  }),
  monitorRequests: op<RequestsResponse>()({
    method: 'GET',
    path: '/monitor/requests',
    input: RequestsQuery,
    response: 'json',
    crawl: false,
    scope: 'read',
    summary: 'Active and recently completed requests, oldest first (order=newest reverses)',
  }),
  monitorBrowsers: op<BrowsersResponse>()({
    method: 'GET',
    path: '/monitor/browsers',
    input: NoQuery,
    response: 'json',
    crawl: false,
    scope: 'read',
    summary: 'Every browser in the pool, with a summary',
  }),
  monitorEndpointStats: op<EndpointStatsResponse>()({
    method: 'GET',
    path: '/monitor/endpoints/stats',
    input: NoQuery,
    response: 'json',
    crawl: false,
    scope: 'read',
    summary: 'Per-endpoint count, latency percentiles, success and pool-hit rates',
  }),
  monitorTimeline: op<TimelineResponse>()({
    method: 'GET',
    path: '/monitor/timeline',
    input: TimelineQuery,
    response: 'json',
    crawl: false,
    scope: 'read',
    summary: 'A metric over a window: up to 5 min at 5 s (live), up to 48 h at 1 min, up to 90 days at 1 h (nulls where the service was down)',
  }),
  monitorHistoryEndpoints: op<EndpointHistoryResponse>()({
    method: 'GET',
    path: '/monitor/history/endpoints',
    input: EndpointHistoryQuery,
    response: 'json',
    crawl: false,
    scope: 'read',
    summary: 'Per-endpoint stats per hour over from..to (epoch seconds or ISO, at most 30 days; default the last 24 h)',
  }),
  monitorJanitorLog: op<{ events: JanitorEvent[] }>()({
    method: 'GET',
    path: '/monitor/logs/janitor',
    input: LogQuery,
    response: 'json',
    crawl: false,
    scope: 'read',
    summary: 'Pool lifecycle and janitor events, oldest first (order=newest reverses)',
  }),
  monitorErrors: op<ErrorsResponse>()({
    method: 'GET',
    path: '/monitor/logs/errors',
    input: LogQuery,
    response: 'json',
    crawl: false,
    scope: 'read',
    summary: 'Recent errors with stacks, oldest first (order=newest reverses), and errors grouped by shape',
  }),
  monitorCleanup: op<CleanupResponse>()({
    method: 'POST',
    path: '/monitor/actions/cleanup',
    input: EmptyBody,
    response: 'json',
    crawl: false,
    scope: 'admin',
    summary: 'Close every idle cold browser now; busy ones are spared',
  }),
  monitorKillBrowser: op<KillResponse>()({
    method: 'POST',
    path: '/monitor/actions/kill_browser',
    input: KillBrowserInput,
    response: 'json',
    crawl: false,
    scope: 'admin',
    summary: 'Kill a browser by signature (prefix); busy ones only with force',
  }),
  monitorRestartBrowser: op<RestartResponse>()({
    method: 'POST',
    path: '/monitor/actions/restart_browser',
    input: RestartBrowserInput,
    response: 'json',
    crawl: false,
    scope: 'admin',
    summary: 'Relaunch a browser with the same config; the old one drains',
  }),
  monitorCacheClear: op<CacheClearResponse>()({
    method: 'POST',
    path: '/monitor/actions/cache_clear',
    input: EmptyBody,
    response: 'json',
    crawl: false,
    scope: 'admin',
    summary: 'Remove every entry of the result cache (crawler_config.cache_mode); answers how many and their bytes',
  }),
  monitorSessions: op<SessionsResponse>()({
    method: 'GET',
    path: '/monitor/sessions',
    input: NoQuery,
    response: 'json',
    crawl: false,
    scope: 'read',
    summary: 'Named sessions (crawler_config.session_id) open now: age, idle time, pages, browser, current URL',
  }),
  monitorCloseSession: op<CloseSessionResponse>()({
    method: 'POST',
    path: '/monitor/actions/close_session',
    input: CloseSessionInput,
    response: 'json',
    crawl: false,
    scope: 'admin',
    summary: 'Close a named session now: its page closes and its browser lease is given back',
  }),
  monitorResetStats: op<ResetResponse>()({
    method: 'POST',
    path: '/monitor/stats/reset',
    input: EmptyBody,
    response: 'json',
    crawl: false,
    scope: 'admin',
    summary: 'Clear endpoint statistics',
  }),
  monitorStream: op<AsyncIterable<LiveMessage> & { close(): void }>()({
    method: 'GET',
    path: '/monitor/stream',
    input: NoQuery,
    response: 'live',
    crawl: false,
    scope: 'read',
    summary: 'Live monitor events (Server-Sent Events over HTTP)',
  }),
  metrics: op<{ contentType: string; body: string }>()({
    method: 'GET',
    path: '/metrics',
    input: NoQuery,
    response: 'text',
    crawl: false,
    scope: 'read',
    summary: 'Prometheus metrics',
  }),
  settings: op<SettingsAnswer>()({
    method: 'GET',
    path: '/settings',
    input: NoQuery,
    response: 'json',
    crawl: false,
    scope: 'admin',
    summary: 'The saved settings (tokens masked) and which of them wait for a restart',
  }),
  updateSettings: op<SettingsAnswer>()({
    method: 'POST',
    path: '/settings',
    input: SettingsPatchSchema,
    response: 'json',
    crawl: false,
    scope: 'admin',
    summary: 'Save some settings; the answer says which apply now and which after a restart',
  }),
  configSchema: op<ConfigSchemaResponse>()({
    method: 'GET',
    path: '/schema',
    input: NoQuery,
    response: 'json',
    crawl: false,
    scope: 'read',
    summary: "crawldeck's default BrowserConfig and CrawlerRunConfig, in Crawl4AI's dump form",
  }),
  crawlJob: op<JobSubmitResponse>()({
    method: 'POST',
    path: '/crawl/job',
    input: CrawlJobRequestSchema,
    response: 'json',
    successStatus: 202,
    crawl: true,
    scope: 'crawl',
    summary: 'Queue a crawl of URLs as a job (Crawl4AI form); answers 202 {task_id} at once, webhook_config announces the end',
  }),
  crawlJobStatus: op<JobStatusResponse>()({
    method: 'GET',
    path: '/crawl/job/:task_id',
    input: JobIdInput,
    response: 'json',
    crawl: false,
    scope: 'crawl',
    summary: "A job's status and progress, with its /crawl envelope once completed (404 once its TTL has run out)",
  }),
  cancelJob: op<JobStatusResponse>()({
    method: 'DELETE',
    path: '/crawl/job/:task_id',
    input: JobIdInput,
    response: 'json',
    crawl: false,
    scope: 'crawl',
    summary: 'Cancel a job: a queued one never runs, a running one stops after the URLs it is crawling and keeps what finished',
  }),
  crawlJobs: op<JobListResponse>()({
    method: 'GET',
    path: '/crawl/jobs',
    input: JobListQuery,
    response: 'json',
    crawl: false,
    scope: 'crawl',
    summary: 'Jobs kept, newest first, optionally of one status (without their results)',
  }),
  configDump: op<ConfigDumpResponse>()({
    method: 'POST',
    path: '/config/dump',
    input: ConfigDumpRequestSchema,
    response: 'json',
    crawl: false,
    scope: 'crawl',
    summary: "A BrowserConfig or CrawlerRunConfig checked as /crawl checks it, in Crawl4AI's dump form, with warnings",
  }),
  monitorWebhooks: op<WebhooksResponse>()({
    method: 'GET',
    path: '/monitor/webhooks',
    input: WebhooksQuery,
    response: 'json',
    crawl: false,
    scope: 'read',
    summary: 'Recent job webhook deliveries, newest first: status, attempts, last status code and error',
  }),
  monitorFleet: op<FleetResponse>()({
    method: 'GET',
    path: '/monitor/fleet',
    input: NoQuery,
    response: 'json',
    crawl: false,
    scope: 'read',
    summary: 'The instances sharing this Redis (heartbeat within their TTL), with load, pool, health and jobs; this one marked self',
  }),
  monitorAlerts: op<AlertsResponse>()({
    method: 'GET',
    path: '/monitor/alerts',
    input: NoQuery,
    response: 'json',
    crawl: false,
    scope: 'read',
    summary: 'Alerts firing now, the alert history (newest first) and every alert rule with its settings and state',
  }),
} as const

export type Contract = typeof contract
export type OperationName = keyof Contract
export type OperationInput<K extends OperationName> = z.output<Contract[K]['input']>
export type OperationOutput<K extends OperationName> = NonNullable<Contract[K]['__output']>
/** What the engine's method for K returns: the output itself, except for 'batch' operations. */
export type ServiceOutput<K extends OperationName> = NonNullable<Contract[K]['__serves']>

/** What a door knows about the call it is making. */
export interface CallContext {
  /** Aborted when the caller goes away (HTTP client disconnect, window closed). */
  signal: AbortSignal
  /** Which door the call came through: 'http' (MCP over HTTP too), 'ipc', or 'stdio' (MCP over stdin/stdout, `npm run mcp`). */
  transport: 'http' | 'ipc' | 'stdio'
  /** The HTTP door's origin as the client addressed it (`http://host:port`), for links in answers. */
  origin?: string
}

/** The engine side of the contract: one method per operation. */
export type ServiceImpl = {
  [K in OperationName]: (input: OperationInput<K>, ctx: CallContext) => Promise<ServiceOutput<K>>
}

export type { CrawlResponse, CrawlResult }
