// Prints the AsyncAPI document (`pnpm --filter @leadflow/contracts asyncapi > asyncapi.json`).
import { buildAsyncApi } from './asyncapi.js';

process.stdout.write(`${JSON.stringify(buildAsyncApi(), null, 2)}\n`);
