// Configuration from environment variables, validated once at start.
// Every bad value is reported with its name and what was expected, all at once, before anything connects.
import { CLUSTER_SCHEME, parseClusterUrl } from './redis/client.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Collects problems while reading, so the user sees every bad variable in one go. */
export class EnvReader {
  private readonly problems: string[] = [];
  constructor(private readonly env: Env = process.env) {}

  string(name: string, fallback?: string): string {
    const value = this.env[name]?.trim();
    if (value) return value;
    if (fallback !== undefined) return fallback;
    this.problems.push(`${name} is required`);
    return '';
  }

  int(name: string, fallback: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer in [${min}, ${max}], got "${raw}"`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.env[name]?.trim();
    if (!raw) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
    return fallback;
  }

  url(name: string, protocols: readonly string[], fallback?: string): string {
    const raw = this.string(name, fallback);
    if (!raw) return raw;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) {
        this.problems.push(`${name} must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
      }
    } catch {
      this.problems.push(`${name} must be a URL, got "${raw}"`);
    }
    return raw;
  }

  /** A Redis URL: redis:// or rediss:// (one Redis), or redis+cluster://host:port,... (a Redis Cluster). */
  redisUrl(name: string): string {
    const raw = this.string(name);
    if (!raw || !raw.startsWith(CLUSTER_SCHEME)) return raw && this.url(name, ['redis:', 'rediss:'], raw);
    try {
      parseClusterUrl(raw);
    } catch (err) {
      this.problems.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return raw;
  }

  list(name: string, fallback?: string): string[] {
    return this.string(name, fallback)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /** Throws one ConfigError listing every problem found so far. */
  done(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

/** Connection settings every workload shares. */
export interface ConnectionConfig {
  kafkaBrokers: string[];
  redisUrl: string;
  mysqlUrl: string;
}

export function readConnections(env: EnvReader): ConnectionConfig {
  return {
    kafkaBrokers: env.list('KAFKA_BROKERS'),
    redisUrl: env.redisUrl('REDIS_URL'),
    mysqlUrl: env.url('MYSQL_URL', ['mysql:']),
  };
}
