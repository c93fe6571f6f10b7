export { connectMongo, pingMongo, redactMongoUrl, type ConnectMongoOptions } from './connect.js';
export { scopeFilter, type TenantFilter, type DealerFilter, type TenantScope } from './tenant.js';
