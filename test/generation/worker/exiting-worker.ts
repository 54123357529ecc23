/**
 * A generation worker that ends at once with exit code 3, before any "ready" and
 * without an uncaught error: the worker's 'exit' comes with no 'error' before it.
 */
process.exit(3);
