/**
 * Long fits are CPU-bound loops of awaits that resolve at once (the CPU pricer is synchronous), so
 * without a real yield they hold the event loop for seconds: a browser page freezes during a live
 * fit, and a test runner's worker misses its heartbeat. Optimizers call this once per iteration; it
 * yields a macrotask only when `budgetMs` have passed since the last yield (cost ~0 otherwise).
 */
let last = 0;

export async function yieldToEventLoop(budgetMs = 50): Promise<void> {
  const now = performance.now();
  if (now - last < budgetMs) return;
  await new Promise<void>((resolve) => {
    const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
    if (immediate) immediate(resolve);
    else setTimeout(resolve, 0);
  });
  last = performance.now();
}
