// The pure routing rules, for the benchmark and other callers outside the service (named, no barrel).
export { routeToAgent, type AgentCandidate, type AgentRoutingInput } from './domain/agent-routing.js';
export { routeToDealer, type DealerCandidate, type DealerRoutingInput } from './domain/dealer-routing.js';
export type { Network } from './domain/network.js';
export { DEFAULT_ROUTING_POLICY, type RoutingPolicy } from './domain/routing-policy.js';
