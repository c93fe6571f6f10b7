import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Subscription secrets. The service must sign with the plain secret, so it cannot store a hash: it
 * stores the secret encrypted (AES-256-GCM under `WEBHOOK_SECRETS_KEY`), so a database dump alone
 * does not let anyone forge deliveries. The plain secret is shown to the integrator once, when it is
 * created or rotated.
 */
export const SECRET_PREFIX = 'whsec_';

export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export interface SecretBox {
  seal(secret: string): string;
  open(sealed: string): string;
}

const VERSION = 'v1';

export function createSecretBox(key: string): SecretBox {
  if (key.length < 32) throw new Error('the secrets key must be at least 32 characters');
  const aesKey = createHash('sha256').update(key).digest();
  return {
    seal(secret) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', aesKey, iv);
      const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return [
        VERSION,
        iv.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
        data.toString('base64url'),
      ].join('.');
    },
    open(sealed) {
      const [version, iv, tag, data] = sealed.split('.');
      if (version !== VERSION || iv === undefined || tag === undefined || data === undefined) {
        throw new Error('not a sealed secret');
      }
      const decipher = createDecipheriv('aes-256-gcm', aesKey, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    },
  };
}

export interface StoredSecret {
  id: string;
  sealed: string;
  createdAt: Date;
  /** Set on the previous secret by a rotation: it signs until then, together with the new one. */
  expiresAt?: Date;
}

/** The secrets that sign a delivery at `now`: the current one first, then any still in its overlap. */
export function liveSecrets<S extends StoredSecret>(secrets: readonly S[], now: Date): S[] {
  return secrets
    .filter((s) => s.expiresAt === undefined || s.expiresAt.getTime() > now.getTime())
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
}

/** After a rotation: the new secret, plus the previous live ones expiring at the end of the overlap. */
export function rotateSecrets<S extends StoredSecret>(
  secrets: readonly S[],
  fresh: S,
  now: Date,
  overlapMs: number,
): S[] {
  const until = new Date(now.getTime() + overlapMs);
  const kept = liveSecrets(secrets, now)
    .filter(() => overlapMs > 0)
    .map((s) => ({
      ...s,
      expiresAt: s.expiresAt !== undefined && s.expiresAt < until ? s.expiresAt : until,
    }));
  return [fresh, ...kept];
}
