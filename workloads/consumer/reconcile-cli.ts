// `npm run reconcile -- --event NAME [--repair] [--force] [--json]`
// Prints the drift per product; exits 1 when inconsistent (after repair, when repairing).
import '../shared/require-node.js';
import { parseArgs } from 'node:util';
import { EnvReader } from '../shared/config.js';
import { createMysqlPool } from '../shared/mysql/pool.js';
import { createRedis } from '../shared/redis/client.js';
import { reconcile } from './reconcile.js';

const { values } = parseArgs({
  options: {
    event: { type: 'string' },
    repair: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const env = new EnvReader();
const event = values.event ?? env.string('SECKILL_EVENT');
const redisUrl = env.url('REDIS_URL', ['redis:', 'rediss:']);
const mysqlUrl = env.url('MYSQL_URL', ['mysql:']);
env.done();

const redis = createRedis(redisUrl, 'reconcile');
const pool = createMysqlPool(mysqlUrl, 2);
try {
  let report = await reconcile(redis, pool, event, { repair: values.repair, force: values.force });
  if (values.repair) {
    for (const p of report.products)
      for (const r of p.repaired) console.log(`repaired product ${p.productId}: ${r}`);
    report = await reconcile(redis, pool, event);
  }
  console.table(
    report.products.map(({ productId, total, redisSold, mysqlSold, orders, consistent }) => ({
      productId,
      total,
      redisSold,
      mysqlSold,
      orders,
      consistent,
    })),
  );
  if (values.json) console.log(JSON.stringify(report));
  process.exitCode = report.consistent ? 0 : 1;
} finally {
  await redis.quit();
  await pool.end();
}
