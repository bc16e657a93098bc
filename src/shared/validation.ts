import type { z } from 'zod'

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

export function summariseIssues(issues: Issue[]): string {
  const shown = issues.slice(0, 3).map((i) => `${i.path}: ${i.message}`)
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : ''
  return `invalid input: ${shown.join('; ')}${more}`
}
