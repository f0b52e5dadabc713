// The sharded consumer process: `npm run consumer`, configured from the environment.
import '../shared/require-node.js';
import { ConfigError } from '../shared/config.js';
import { onShutdown } from '../shared/lifecycle.js';
import { createLogger } from '../shared/log.js';
import { readConsumerConfig } from './config.js';
import { createConsumerApp } from './consumer-app.js';

const log = createLogger({ component: 'consumer' });

try {
  const config = readConsumerConfig();
  const app = createConsumerApp(config, log.child({ event: config.event }));
  onShutdown(log, config.shutdownGraceMs, () => app.stop());
  await app.start();
} catch (err) {
  if (err instanceof ConfigError) {
    log.error(err.message);
    process.exit(2);
  }
  log.error('consumer failed to start', { err });
  process.exit(1);
}
