/**
 * The unit lane, `npm run test:unit` (vitest.unit.config.ts): the test files that launch no
 * Chromium, start no Redis and no `serve` process, create no engine runtime and need no build
 * output. Pure logic, schemas, option parsing, the desktop shell with Electron faked, and the
 * renderer's components and stores in happy-dom. `npm test` runs them too, with everything else.
 *
 * tests/unit-lane.test.ts checks the list (every file exists and imports none of what the lane
 * leaves out), and the lane's guard (tests/helpers/unit-lane-guard.ts, installed by its set-up
 * file) fails any test here that would still spawn Chromium, redis-server or a `serve` process.
 * A new test that fits belongs in this list.
 *
 * Left out although they start none of those: tests/http-batch.test.ts and tests/json-chunks.test.ts
 * (each builds an answer longer than V8's longest string: 10-15 s and about a gigabyte of memory),
 * tests/markdown-offload.test.ts and tests/ui/bundle.test.ts (they check the build in out/), and
 * tests/desktop/electronegativity.test.ts (it scans the whole source tree).
 */
export const UNIT_TESTS = [
  'tests/alert-rules.test.ts',
  'tests/architecture.test.ts',
  'tests/batch-results.test.ts',
  'tests/cache-store.test.ts',
  'tests/chromium-locate.test.ts',
  'tests/chromium-platforms.test.ts',
  'tests/cli-options.test.ts',
  'tests/compat-doc.test.ts',
  'tests/crawl4ai-config.test.ts',
  'tests/crawl-deadline.test.ts',
  'tests/error-caps.test.ts',
  'tests/growth-browser-gone.test.ts',
  'tests/markdown-citations.test.ts',
  'tests/monitor-units.test.ts',
  'tests/persister.test.ts',
  'tests/pool-signature.test.ts',
  'tests/process-tree.test.ts',
  'tests/system-cgroup.test.ts',
  'tests/system-memory.test.ts',
  'tests/system-portable.test.ts',
  'tests/unit-lane.test.ts',
  'tests/desktop/app-menu.test.ts',
  'tests/desktop/crash-handling.test.ts',
  'tests/desktop/alert-notifications.test.ts',
  'tests/desktop/ensure-electron.test.ts',
  'tests/desktop/hardening.test.ts',
  'tests/desktop/http-door.test.ts',
  'tests/desktop/log-file.test.ts',
  'tests/desktop/login-item.test.ts',
  'tests/desktop/notifications.test.ts',
  'tests/desktop/root-refusal.test.ts',
  'tests/desktop/shutdown.test.ts',
  'tests/desktop/single-instance.test.ts',
  'tests/desktop/tray.test.ts',
  'tests/desktop/window.test.ts',
  'tests/ipc/ipc-architecture.test.ts',
  'tests/ipc/ipc-transport.test.ts',
  'tests/ipc/ipc-transport-stream.test.ts',
  'tests/ipc/preload.test.ts',
  'tests/settings/packaging.test.ts',
  'tests/settings/schema.test.ts',
  'tests/settings/store.test.ts',
  'tests/ui/components.test.ts',
  'tests/ui/copy-as-code.test.ts',
  'tests/ui/dashboard-serve.test.ts',
  'tests/ui/frame-queue.test.ts',
  'tests/ui/http-transport.test.ts',
  'tests/ui/monitor-store.test.ts',
  'tests/ui/playground-store.test.ts',
  'tests/ui/playground-sync.test.ts',
  'tests/ui/sessions-tab.test.ts',
  'tests/ui/snippets.test.ts',
  'tests/ui/timeline-options.test.ts',
  'tests/ui/transport-stream.test.ts',
  'bench/tests/boundary.test.ts',
  'bench/tests/entry.test.ts',
  'bench/tests/growth.test.ts',
  'bench/tests/suite.test.ts',
]
