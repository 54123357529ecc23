/**
 * Resolves once `condition()` holds, checking every 5 ms; rejects after `timeoutMs`.
 * For conditions on plain state (fakes, counters), where vi.waitFor's retries of a
 * throwing callback are not needed.
 */
export async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
