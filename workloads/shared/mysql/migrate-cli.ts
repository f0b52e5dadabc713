// `npm run migrate`: applies the schema migrations (migrations.ts) to the database of MYSQL_URL.
// Idempotent and safe to run from several processes at once; retries the first connection for a while
// (MYSQL_WAIT_SECONDS, default 30) so it can run right after the database starts. Exit 0 on success.
import '../require-node.js';
import { ConfigError, EnvReader } from '../config.js';
import { migrate } from './migrations.js';
import { createMysqlPool } from './pool.js';

const env = new EnvReader();
const mysqlUrl = env.url('MYSQL_URL', ['mysql:']);
const waitSeconds = env.int('MYSQL_WAIT_SECONDS', 30, 0, 3600);
try {
  env.done();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

const pool = createMysqlPool(mysqlUrl, 1);
const deadline = Date.now() + waitSeconds * 1000;
try {
  for (;;) {
    try {
      const applied = await migrate(pool);
      console.log(
        applied.length > 0 ? `migrations applied: ${applied.join(', ')}` : 'migrations: already up to date',
      );
      break;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const transient =
        code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'PROTOCOL_CONNECTION_LOST';
      if (!transient || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
} catch (err) {
  process.stderr.write(`migration failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
