/*
 * How invalid input is described to a client: zod's issues as {path, message} pairs, and the
 * one-line summary a 400's message carries (core/errors.ts, invalidInput, builds the 400).
 */
import type { z } from 'zod'

/** One thing wrong with an input: where (a dotted path into it) and what. */
export interface Issue {
  path: string
  message: string
}

/** zod issues as `{path, message}` pairs: the `details` of every 400 from either door. */
export function describeIssues(error: z.ZodError): Issue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(body)',
    message: issue.message,
  }))
}

/** The first three issues, and how many more: a 400's message stays short however many there are. */
export function summariseIssues(issues: Issue[]): string {
  const shown = issues.slice(0, 3).map((i) => `${i.path}: ${i.message}`)
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : ''
  return `invalid input: ${shown.join('; ')}${more}`
}
