// What bench/reporting.ts needs besides `startService`: the projection's own pure functions (so the
// pre-loaded counters are exactly what the consumer would write), the repositories and the HTTP app.
export { buildApp } from './app.js';
export { addCounters, type Counters } from './domain/counters.js';
export { bucketId, bucketOf, countersFor, storageId, type BucketKey } from './domain/lead-counting.js';
export { businessTimeOf, summarise, type SummarisedEvent } from './domain/lead-events.js';
export { addToRollups, type RollupIncrements } from './domain/rollups.js';
export { createCounterRepository } from './repositories/counter.repository.js';
export { createEventRepository } from './repositories/event.repository.js';
export { createLeadRepository } from './repositories/lead.repository.js';
