// The front door process: `npm run api`. Settings from the environment (see config.ts), structured logs
// on stdout, exit 0 after a graceful stop on SIGTERM (within SHUTDOWN_GRACE_MS), 1 on bad configuration
// or when the dependencies cannot be reached at start (Kubernetes restarts it).
import '../shared/require-node.js';
import { ConfigError, EnvReader } from '../shared/config.js';
import { onShutdown } from '../shared/lifecycle.js';
import { createLogger } from '../shared/log.js';
import { ApiApp } from './app.js';
import { readApiConfig } from './config.js';

const log = createLogger({ component: 'api' });

function loadConfig(): ReturnType<typeof readApiConfig> {
  try {
    return readApiConfig(new EnvReader(process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      log.error('invalid configuration', { problems: err.problems });
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

const config = loadConfig();
const app = new ApiApp(config, { log });
onShutdown(log, config.shutdownGraceMs, () => app.stop());
try {
  const port = await app.start();
  log.info('listening', {
    port,
    batch: config.batch,
    throttleMs: config.throttleMs,
    idempotent: config.kafkaIdempotent,
  });
} catch (err) {
  log.error('could not start', { err });
  process.exit(1);
}
