import { readFileSync } from 'node:fs'
import path from 'node:path'

/**
 * Where this process's own cgroup lives, nearest first: its own directory, then each ancestor
 * up to the mount root. Reading only the mount root (as many tools do) reports the parent's
 * numbers — often the whole host — instead of the container's. A limit may be set on any
 * ancestor, so callers take the first directory that has one.
 *
 * `controller` null means the cgroup v2 unified hierarchy; otherwise a v1 controller name
 * (memory, cpu, cpuacct), mounted at <root>/<controller>.
 */
export function cgroupDirs(controller: string | null, cgroupRoot: string, procRoot: string): string[] {
  const mount = controller === null ? cgroupRoot : path.join(cgroupRoot, controller)
  const own = ownCgroupPath(controller, procRoot)
  const dirs: string[] = []
  if (own !== null) {
    // Inside a container the mount often already *is* our cgroup and the path names the host's
    // view; the ancestors of that path then do not exist and are simply skipped by callers.
    for (let p = own; p !== '/' && p !== '.' && p !== ''; p = path.posix.dirname(p)) dirs.push(path.join(mount, p))
  }
  dirs.push(mount)
  return [...new Set(dirs)]
}

function ownCgroupPath(controller: string | null, procRoot: string): string | null {
  let text: string
  try {
    text = readFileSync(path.join(procRoot, 'self', 'cgroup'), 'utf8')
  } catch {
    return null
  }
  for (const line of text.split('\n')) {
    const [id, controllers, p] = splitLine(line)
    if (p === undefined) continue
    if (controller === null ? id === '0' && controllers === '' : (controllers ?? '').split(',').includes(controller)) return p
  }
  return null
}

function splitLine(line: string): [string?, string?, string?] {
  const first = line.indexOf(':')
  const second = line.indexOf(':', first + 1)
  if (first < 0 || second < 0) return []
  return [line.slice(0, first), line.slice(first + 1, second), line.slice(second + 1)]
}
