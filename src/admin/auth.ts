import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Checks `Authorization: Bearer <token>` in constant time. Returns a checker that accepts
 * everything when no token is configured (loopback-only admin, enforced at boot).
 */
export function createTokenCheck(token: string): (req: IncomingMessage) => boolean {
  if (token === '') return () => true;
  const expected = createHash('sha256').update(token).digest();
  return (req) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match) return false;
    const given = createHash('sha256').update((match[1] as string).trim()).digest();
    return timingSafeEqual(given, expected);
  };
}
