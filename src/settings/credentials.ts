/** What an admin identity may do: `viewer` reads; `operator` also bans, lifts, imports and reloads. */
export type AdminRole = 'viewer' | 'operator';

/** The least role each kind of admin request needs. */
export function roleAllows(role: AdminRole, needed: AdminRole): boolean {
  return role === 'operator' || needed === 'viewer';
}

/** One named credential: `name:role:token` in `ADMIN_TOKENS`, or `ADMIN_TOKEN` (operator `admin`). */
export interface AdminCredential {
  name: string;
  role: AdminRole;
  token: string;
}

/** Shortest admin token accepted (as `ADMIN_TOKEN`). */
export const MIN_TOKEN_LENGTH = 16;
/** The name `ADMIN_TOKEN` acts under. */
export const LEGACY_TOKEN_NAME = 'admin';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;

/**
 * The node's credentials from `ADMIN_TOKENS` entries and `ADMIN_TOKEN`, and what is wrong
 * with them — each problem naming the entry by position and name, never its token.
 */
export function parseCredentials(entries: readonly string[], legacyToken: string): { credentials: AdminCredential[]; problems: string[] } {
  const credentials: AdminCredential[] = [];
  const problems: string[] = [];
  const names = new Set<string>();
  const tokens = new Set<string>();
  if (legacyToken !== '') {
    credentials.push({ name: LEGACY_TOKEN_NAME, role: 'operator', token: legacyToken });
    names.add(LEGACY_TOKEN_NAME);
    tokens.add(legacyToken);
  }
  entries.forEach((entry, index) => {
    const first = entry.indexOf(':');
    const second = first === -1 ? -1 : entry.indexOf(':', first + 1);
    const where = `entry ${index + 1}`;
    if (second === -1) {
      problems.push(`${where} must be name:role:token`);
      return;
    }
    const name = entry.slice(0, first);
    const role = entry.slice(first + 1, second);
    const token = entry.slice(second + 1);
    const named = NAME.test(name) ? `${where} (${name})` : where;
    if (!NAME.test(name)) problems.push(`${where}: the name must be 1 to 64 letters, digits or . _ @ + - starting with a letter or digit`);
    else if (names.has(name))
      problems.push(`${named}: the name ${name === LEGACY_TOKEN_NAME && legacyToken !== '' ? 'admin is taken by ADMIN_TOKEN' : 'is given twice'}`);
    if (role !== 'viewer' && role !== 'operator') problems.push(`${named}: the role must be viewer or operator`);
    if (token.length < MIN_TOKEN_LENGTH) problems.push(`${named}: the token must be ${MIN_TOKEN_LENGTH} characters or more`);
    else if (tokens.has(token)) problems.push(`${named}: the token is the same as another credential's`);
    names.add(name);
    tokens.add(token);
    if (NAME.test(name) && (role === 'viewer' || role === 'operator') && token.length >= MIN_TOKEN_LENGTH) credentials.push({ name, role, token });
  });
  return { credentials, problems };
}

/** One `ADMIN_AUTH_PROXY_ROLES` grant: a user (name or email), a group, or everyone. */
export interface RoleGrant {
  subject: { kind: 'user'; name: string } | { kind: 'group'; name: string } | { kind: 'anyone' };
  role: AdminRole;
}

/** The shape of a grant: `alice@example.com=operator`, `group:secops=operator`, `*=viewer`. */
export const ROLE_GRANT = /^(\*|group:[^=\s,]+|[^=\s,:]+)=(viewer|operator)$/;

/** Parses `ADMIN_AUTH_PROXY_ROLES` entries (validated by their format at boot). */
export function parseRoleGrants(entries: readonly string[]): RoleGrant[] {
  return entries.flatMap((entry): RoleGrant[] => {
    const match = ROLE_GRANT.exec(entry);
    if (!match) return [];
    const [, subject = '', role] = match;
    const kind =
      subject === '*'
        ? { kind: 'anyone' as const }
        : subject.startsWith('group:')
          ? { kind: 'group' as const, name: subject.slice(6) }
          : { kind: 'user' as const, name: subject };
    return [{ subject: kind, role: role as AdminRole }];
  });
}

/**
 * The role the grants give a user known by `names` (its user name and email) in `groups`:
 * the highest of every grant that matches, or undefined when none does.
 */
export function roleOf(grants: readonly RoleGrant[], names: readonly string[], groups: readonly string[]): AdminRole | undefined {
  let best: AdminRole | undefined;
  for (const grant of grants) {
    const { subject } = grant;
    const matches = subject.kind === 'anyone' || (subject.kind === 'user' ? names.includes(subject.name) : groups.includes(subject.name));
    if (matches && (best === undefined || grant.role === 'operator')) best = grant.role;
  }
  return best;
}
