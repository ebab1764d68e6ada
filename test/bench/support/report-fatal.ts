/**
 * Loaded into a benchmarked gateway's process (startGatewayProcess's `imports`): an uncaught
 * exception or an unhandled rejection ends it (src/main.ts installs no handler, and Node 22
 * throws unhandled rejections), and Node's own report of it does not say which of the two it
 * was. This writes one JSON line `{"benchFatal": origin, "error": ...}` to stderr first, so
 * the benchmark can count it. A monitor changes nothing about the process ending.
 */
process.on('uncaughtExceptionMonitor', (error, origin) => {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  // Writes to a pipe are synchronous on Linux: the line is out before the process ends.
  process.stderr.write(`${JSON.stringify({ benchFatal: origin, error: text.slice(0, 2000) })}\n`);
});
