// Connection settings of the running local stack, as `npm run stack -- env` exports them.
// A test that needs a service fails with a clear message when its variable is missing, never skips.

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: start the stack and export its settings: eval "$(npm run -s stack -- env)"`,
    );
  }
  return value;
}

export const stackEnv = {
  kafkaBrokers: (): string[] => requireEnv('KAFKA_BROKERS').split(','),
  redisUrl: (): string => requireEnv('REDIS_URL'),
  mysqlUrl: (): string => requireEnv('MYSQL_URL'),
  kubeconfig: (): string => requireEnv('KUBECONFIG'),
};

/** A name unique to this test run, so tests sharing one stack never see each other's data. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}
