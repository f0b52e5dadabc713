import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from '../log.js';

// Every producer of ours picks its partitioner explicitly; the v2 default-partitioner notice is noise.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

/** A kafkajs client whose own logs go through our structured logger. */
export function createKafka(brokers: string[], clientId: string, log: Logger): Kafka {
  const kafkaLog = log.child({ component: 'kafkajs' });
  const logCreator =
    () =>
    ({ level, log: entry }: LogEntry): void => {
      const { message, ...fields } = entry;
      if (level <= logLevel.ERROR) kafkaLog.error(message, fields);
      else if (level === logLevel.WARN) kafkaLog.warn(message, fields);
      else kafkaLog.debug(message, fields);
    };
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    logCreator,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5000 },
    connectionTimeout: 3000,
    requestTimeout: 30000,
  });
}
