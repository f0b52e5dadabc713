import { collectDefaultMetrics, Registry } from 'prom-client';

/** A registry per process with Node's default metrics (event loop lag, heap, GC) and a component label. */
export function createRegistry(component: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry });
  return registry;
}
