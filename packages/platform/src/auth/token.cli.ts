#!/usr/bin/env tsx
/**
 * Mints a token for local runs and demos:
 *   tsx packages/platform/src/auth/token.cli.ts --role dealer_manager --oem demo-oem --dealer D001 [--agent A1] [--ttl 12h]
 * The secret is --secret, else JWT_SECRET, else LOCAL_DEV_JWT_SECRET.
 */
import { parseArgs } from 'node:util';
import { Type } from '@sinclair/typebox';
import { loadConfig } from '../config/load-config.js';
import { PrincipalKinds, type Principal, type PrincipalKind } from './principal.js';
import { isRole, Roles, type Role } from './roles.js';
import { principalClaimsProblem } from './scope.js';
import { createTokenSigner, LOCAL_DEV_JWT_SECRET } from './tokens.js';

const CliEnv = Type.Object({
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  JWT_ISSUER: Type.String({ minLength: 1, default: 'leadflow' }),
  JWT_AUDIENCE: Type.String({ minLength: 1, default: 'leadflow' }),
});

const usage = `Usage: leadflow-token --role <role> [--role <role>...] --oem <oemId> [--dealer <dealerId>] [--agent <agentId>]
                      [--sub <subject>] [--name <display name>] [--kind user|system|source|integrator]
                      [--ttl 12h] [--secret <32+ chars>] [--issuer leadflow] [--audience leadflow]
Roles: ${Roles.join(', ')}`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}

function defaultKind(roles: Role[]): PrincipalKind {
  if (roles.includes('system')) return 'system';
  if (roles.includes('integrator')) return 'integrator';
  if (roles.includes('source')) return 'source';
  return 'user';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: 'string', multiple: true },
      oem: { type: 'string' },
      dealer: { type: 'string' },
      agent: { type: 'string' },
      sub: { type: 'string' },
      name: { type: 'string' },
      kind: { type: 'string' },
      ttl: { type: 'string', default: '12h' },
      secret: { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const env = loadConfig(CliEnv);
  const roles = values.role ?? [];
  if (roles.length === 0) fail('At least one --role is required.');
  const badRole = roles.find((r) => !isRole(r));
  if (badRole !== undefined) fail(`Unknown role: ${badRole}`);
  if (values.oem === undefined) fail('--oem is required.');
  const validRoles = roles.filter(isRole);
  const kind = values.kind ?? defaultKind(validRoles);
  if (!(PrincipalKinds as readonly string[]).includes(kind)) fail(`Unknown kind: ${kind}`);

  const principal: Principal = {
    sub: values.sub ?? values.agent ?? `${validRoles[0] ?? 'user'}@${values.dealer ?? values.oem}`,
    kind: kind as PrincipalKind,
    roles: validRoles,
    oemId: values.oem,
    ...(values.dealer === undefined ? {} : { dealerId: values.dealer }),
    ...(values.agent === undefined ? {} : { agentId: values.agent }),
    ...(values.name === undefined ? {} : { name: values.name }),
  };
  const problem = principalClaimsProblem(principal);
  if (problem !== undefined) fail(`Inconsistent claims: ${problem}.`);

  const signer = createTokenSigner({
    secret: values.secret ?? env.JWT_SECRET ?? LOCAL_DEV_JWT_SECRET,
    issuer: values.issuer ?? env.JWT_ISSUER,
    audience: values.audience ?? env.JWT_AUDIENCE,
  });
  process.stdout.write(`${await signer.sign(principal, { ttl: values.ttl })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
