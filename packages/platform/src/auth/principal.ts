import { Type, type Static } from '@sinclair/typebox';
import { Roles } from './roles.js';

export const PrincipalKinds = ['user', 'system', 'source', 'integrator'] as const;
export type PrincipalKind = (typeof PrincipalKinds)[number];

const Id = Type.String({ minLength: 1, maxLength: 100 });

/** The caller of a request, as carried in a JWT or resolved from an API key. */
export const PrincipalSchema = Type.Object({
  sub: Id,
  kind: Type.Union(PrincipalKinds.map((k) => Type.Literal(k))),
  roles: Type.Array(Type.Union(Roles.map((r) => Type.Literal(r))), { minItems: 1, maxItems: Roles.length }),
  oemId: Id,
  dealerId: Type.Optional(Id),
  agentId: Type.Optional(Id),
  name: Type.Optional(Type.String({ maxLength: 200 })),
});

export type Principal = Static<typeof PrincipalSchema>;

/** The key idempotency records and audit trails use for "the same caller". */
export function principalKey(principal: Principal): string {
  return `${principal.kind}:${principal.oemId}:${principal.sub}`;
}
