// Structured logs: one JSON object per line on stdout, the shape log shippers expect.
// Deliberately tiny: a flash-sale hot path must not pay for a logging framework.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

function levelFromEnv(): LogLevel {
  const value = process.env.LOG_LEVEL;
  return value === 'debug' || value === 'info' || value === 'warn' || value === 'error' ? value : 'info';
}

/** Errors do not serialise with JSON.stringify; keep their message, code and stack. */
function serialise(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { message: v.message, name: v.name, stack: v.stack } : v;
  }
  return out;
}

export function createLogger(base: LogFields = {}, minLevel: LogLevel = levelFromEnv()): Logger {
  const write = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (order[level] < order[minLevel]) return;
    const line = {
      time: new Date().toISOString(),
      level,
      msg,
      ...base,
      ...(fields ? serialise(fields) : {}),
    };
    process.stdout.write(JSON.stringify(line) + '\n');
  };
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    child: (fields) => createLogger({ ...base, ...fields }, minLevel),
  };
}
