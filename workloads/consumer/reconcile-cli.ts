// `npm run reconcile -- --event NAME [--repair] [--force] [--json] [--tickets FILE]`
// Prints the drift per product, then the invariant verdict (workloads/consumer/invariants.ts; with
// --tickets, a file of the accepted tickets, the ticket checks too); exits 1 when inconsistent (after
// repair, when repairing) or when an invariant is violated. --json: the report, with the verdict under
// `invariants`, as one JSON line.
import '../shared/require-node.js';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readEvent } from '../shared/catalog.js';
import { EnvReader } from '../shared/config.js';
import { createMysqlPool } from '../shared/mysql/pool.js';
import { createRedis } from '../shared/redis/client.js';
import { checkInvariants, parseTickets, verdictText } from './invariants.js';
import { reconcile } from './reconcile.js';

const { values } = parseArgs({
  options: {
    event: { type: 'string' },
    repair: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    tickets: { type: 'string' },
  },
});
const env = new EnvReader();
const event = values.event ?? env.string('SECKILL_EVENT');
const redisUrl = env.redisUrl('REDIS_URL');
const mysqlUrl = env.url('MYSQL_URL', ['mysql:']);
env.done();
const tickets = values.tickets === undefined ? undefined : parseTickets(readFileSync(values.tickets, 'utf8'));

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
  const products = (await readEvent(redis, event))?.products ?? [];
  const invariants = await checkInvariants({ redis, pool, event, products, tickets });
  console.log(verdictText(invariants));
  if (values.json) console.log(JSON.stringify({ ...report, invariants }));
  process.exitCode = report.consistent && invariants.ok ? 0 : 1;
} finally {
  await redis.quit();
  await pool.end();
}
