import { z } from 'zod'
import type { ErrorBody } from '../../shared/api-types.js'
import { contract, type Operation, type OperationName } from '../../shared/contract.js'

/*
 * The OpenAPI 3.1 description of the HTTP door, generated from the contract: one operation per
 * contract entry (its method, path, scope, summary), its input's zod schema as JSON Schema (the
 * query string of a GET or DELETE, the JSON body of a POST, `:name` path segments as path
 * parameters), the content type of each answer kind and the error answers every route can give.
 * Outputs are TypeScript types, not schemas: they are described as a JSON object (a batch's
 * envelope as far as the door shapes it). Nothing here is written per route, so a new contract
 * entry is described the moment it exists.
 */

type Json = Record<string, unknown>

/** The shape of every error answer (errors.ts): kept beside the type it must match. */
const ErrorBodySchema = z
  .object({
    error: z.string().describe('What was wrong, in a sentence'),
    code: z.string().describe('A stable machine-readable code: invalid_input, unauthorized, forbidden, not_found, body_too_large, queue_full...'),
    details: z.unknown().optional().describe('For invalid_input: every issue as {path, message}'),
    correlation_id: z.string().optional().describe('On a 500: quote it when reporting the problem; the stack is in the server log'),
  })
  .meta({ title: 'ErrorBody' }) satisfies z.ZodType<ErrorBody>

const ERROR_ANSWERS: Record<string, string> = {
  '400': 'Invalid input: `details` lists every issue as {path, message}',
  '401': 'No valid credentials: send `Authorization: Bearer <token>` or sign in to the dashboard',
  '403': 'The token lacks the scope, or the Host or Origin is not allowed',
  '404': 'Nothing by that name (a path parameter that names nothing, or a spelling of the route that is not its own)',
  '413': 'The JSON body is larger than the body limit',
  '429': 'Too many requests: the admission queue is full, or too many failed sign-ins (Retry-After says when to try again)',
  '500': 'A bug: the answer carries a correlation_id to quote',
  '503': 'Not available now: the permanent browser is down, the service is shutting down, or a needed store is unreachable',
}

/** What each scope may do; scopes contain the ones before them. */
const SCOPES: Record<Exclude<Operation['scope'], 'open'>, string> = {
  read: 'Monitor reads, the live stream, /metrics',
  crawl: 'read, and the crawl endpoints',
  admin: 'crawl, and actions, statistics reset and settings',
}
const SCOPE_ORDER = ['read', 'crawl', 'admin'] as const

export interface OpenApiOptions {
  version: string
}

/** `/crawl/job/:task_id` → `/crawl/job/{task_id}` and its parameter names. */
export function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = []
  const converted = path
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment
      params.push(segment.slice(1))
      return `{${segment.slice(1)}}`
    })
    .join('/')
  return { path: converted, params }
}

export function openApiDocument(opts: OpenApiOptions): Json {
  const schemas: Record<string, Json> = { ErrorBody: jsonSchema(ErrorBodySchema, 'ErrorBody', {}) }
  const paths: Record<string, Record<string, Json>> = {}
  for (const name of Object.keys(contract) as OperationName[]) {
    const op = contract[name] as Operation
    const { path, params } = openApiPath(op.path)
    ;(paths[path] ??= {})[op.method.toLowerCase()] = operation(name, op, params, schemas)
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'crawldeck',
      version: opts.version,
      summary: 'A pool of headless Chromium browsers behind a crawl API, with an observability control center',
      description: [
        'Generated from the service contract at start. Each operation names the lowest token scope it needs',
        '(`x-crawldeck-scope`, and the scope list of its security requirement): read < crawl < admin, each containing the one before;',
        '`open` operations need none. Send `Authorization: Bearer <token>`, or sign in to the dashboard (a session cookie).',
        'With no token configured on a loopback bind every operation is open.',
        'Also served: `GET /metrics` for Prometheus, the dashboard at `/dashboard/`, and this reference at `/docs`.',
      ].join(' '),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { session: [] }],
    tags: [
      { name: 'crawl', description: 'Crawl pages: HTML, Markdown, screenshots, PDFs, scripts, jobs' },
      { name: 'monitor', description: 'The pool, requests, errors and timelines; actions on browsers and sessions' },
      { name: 'service', description: 'Health, metrics, settings and configuration' },
    ],
    paths,
    components: {
      schemas,
      responses: Object.fromEntries(
        Object.entries(ERROR_ANSWERS).map(([status, description]) => [
          `Error${status}`,
          { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } } },
        ]),
      ),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: `A token of one of the scopes: ${SCOPE_ORDER.map((s) => `${s} (${SCOPES[s]})`).join('; ')}.`,
        },
        session: { type: 'apiKey', in: 'cookie', name: 'crawldeck_session', description: 'The dashboard session, from POST /auth/session {token}' },
      },
    },
  }
}

function operation(name: OperationName, op: Operation, pathParams: string[], schemas: Record<string, Json>): Json {
  const input = jsonSchema(op.input, name, schemas)
  const properties = (input.properties ?? {}) as Record<string, Json>
  const required = new Set((input.required ?? []) as string[])
  const parameters: Json[] = pathParams.map((p) => ({
    name: p,
    in: 'path',
    required: true,
    schema: properties[p] ?? { type: 'string' },
  }))
  const fromQuery = op.method !== 'POST'
  if (fromQuery) {
    for (const [key, schema] of Object.entries(properties)) {
      if (pathParams.includes(key)) continue
      const { description, ...rest } = schema
      parameters.push({ name: key, in: 'query', required: required.has(key), schema: rest, ...(typeof description === 'string' ? { description } : {}) })
    }
  }
  const out: Json = {
    operationId: name,
    summary: op.summary,
    tags: [op.crawl || name.startsWith('crawl') ? 'crawl' : op.path.startsWith('/monitor/') ? 'monitor' : 'service'],
    'x-crawldeck-scope': op.scope,
    security: op.scope === 'open' ? [{}, { bearer: [] }, { session: [] }] : [{ bearer: scopesReaching(op.scope) }, { session: scopesReaching(op.scope) }],
  }
  if (parameters.length > 0) out.parameters = parameters
  if (!fromQuery) {
    const body = { ...input }
    if (pathParams.length > 0) {
      body.properties = Object.fromEntries(Object.entries(properties).filter(([k]) => !pathParams.includes(k)))
      body.required = [...required].filter((k) => !pathParams.includes(k))
    }
    out.requestBody = { required: true, content: { 'application/json': { schema: body } } }
  }
  out.responses = { ...success(name, op), ...errors(op, pathParams) }
  return out
}

/** The scopes whose tokens may call an operation that needs `need`. */
function scopesReaching(need: Exclude<Operation['scope'], 'open'>): string[] {
  return SCOPE_ORDER.slice(SCOPE_ORDER.indexOf(need)) as string[]
}

function success(name: OperationName, op: Operation): Json {
  const status = String(op.successStatus ?? 200)
  const answer = (description: string, content: Json): Json => ({ [status]: { description, content } })
  switch (op.response) {
    case 'batch':
      return answer('One result per URL, in URL order, written a result at a time', {
        'application/json': {
          schema: {
            type: 'object',
            properties: { results: { type: 'array', items: { type: 'object' } }, success: { type: 'boolean', description: 'Whether every URL succeeded' } },
            required: ['results', 'success'],
          },
        },
      })
    case 'ndjson':
      return answer('One JSON value per line, each result as it finishes; a failure ends the stream with a {"status":"error"} line', {
        'application/x-ndjson': { schema: { type: 'string' } },
      })
    case 'live':
      return answer('Server-Sent Events: monitor snapshots and changes as they happen', { 'text/event-stream': { schema: { type: 'string' } } })
    case 'text':
      return answer('Prometheus text exposition format 0.0.4', { 'text/plain; version=0.0.4': { schema: { type: 'string' } } })
    case 'json': {
      const ok = answer('The answer', { 'application/json': { schema: { type: 'object' } } })
      // /health answers its body with 503 too, while the permanent browser is down.
      if (name === 'health')
        ok['503'] = { description: 'The permanent browser is down; the body says so', content: { 'application/json': { schema: { type: 'object' } } } }
      return ok
    }
  }
}

function errors(op: Operation, pathParams: string[]): Json {
  const codes = ['400', '401', '403', '429', '500']
  if (pathParams.length > 0) codes.push('404')
  if (op.method === 'POST') codes.push('413')
  if (op.crawl) codes.push('503')
  return Object.fromEntries(codes.sort().map((c) => [c, { $ref: `#/components/responses/Error${c}` }]))
}

/**
 * A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect), as a caller writes it (io:
 * 'input': defaults are optional). Parts JSON Schema cannot say (a transform, a custom check)
 * become `{}`, any value; the zod schema still judges every request. Definitions the converter
 * hoists move to components.schemas under the operation's name, where their references can reach.
 */
function jsonSchema(schema: z.ZodType, owner: string, schemas: Record<string, Json>): Json {
  const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Json
  delete js.$schema
  const defs = js.$defs as Record<string, Json> | undefined
  if (!defs) return js
  delete js.$defs
  const rename = (def: string) => `${owner}_${def.replace(/[^A-Za-z0-9._-]/g, '_')}`
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite)
    if (value === null || typeof value !== 'object') return value
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/') ? `#/components/schemas/${rename(v.slice('#/$defs/'.length))}` : rewrite(v),
      ]),
    )
  }
  for (const [def, body] of Object.entries(defs)) schemas[rename(def)] = rewrite(body) as Json
  return rewrite(js) as Json
}
