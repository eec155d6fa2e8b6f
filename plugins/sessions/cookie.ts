import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new session id: 32 random bytes, base64url. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** `<id>.<signature>`: HMAC-SHA256 of the id with the secret, base64url. */
export function signSessionId(id: string, secret: string): string {
  return `${id}.${createHmac('sha256', secret).update(id).digest('base64url')}`;
}

/** The id of a well-signed cookie value, or undefined (tampered, foreign, malformed). */
export function verifySessionCookie(value: string, secret: string): string | undefined {
  const dot = value.indexOf('.');
  if (dot !== 43 || value.length !== 87) return undefined;
  const id = value.slice(0, dot);
  const expected = Buffer.from(signSessionId(id, secret).slice(dot + 1));
  const given = Buffer.from(value.slice(dot + 1));
  return given.length === expected.length && timingSafeEqual(given, expected) ? id : undefined;
}

/** The value of cookie `name` in a Cookie header, if present. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A short, stable fingerprint of a User-Agent (the session never stores the raw text). */
export function agentFingerprint(agent: string | undefined): string {
  return createHash('sha256')
    .update(agent ?? '')
    .digest('base64url')
    .slice(0, 16);
}
