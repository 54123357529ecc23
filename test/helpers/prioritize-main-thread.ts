import { getPriority, setPriority } from "node:os";

/**
 * Raises the main thread (on Linux the process id names the main thread only) above
 * the other runnable threads of this shared 2-core machine, the session workers
 * included, so that the delay measured is the event loop's own blocking, not waiting
 * for a core behind other tenants. Work done synchronously on the loop still shows in
 * full. Returns the undo.
 */
export function prioritizeMainThread(): () => void {
  const previous = getPriority(process.pid);
  try {
    setPriority(process.pid, -10);
  } catch (error) {
    console.warn(`cannot raise the main thread's priority (${String(error)}); measuring as is`);
  }
  return () => setPriority(process.pid, previous);
}
