/**
 * Whether a transport failure means "this host cannot be reached from here" (its name does not resolve, nothing
 * accepts the connection, the connection attempt times out), as opposed to a connection that broke or a TLS problem.
 * Such a host fails fast (http.ts), and a source registry that fails so is imported by tag instead (run.ts).
 */

export type ConnectFailure = 'dns' | 'refused' | 'timeout' | 'unreachable';

const CODES: Record<string, ConnectFailure> = {
  ENOTFOUND: 'dns',
  EAI_NONAME: 'dns',
  EAI_NODATA: 'dns',
  EAI_AGAIN: 'dns',
  ECONNREFUSED: 'refused',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  ETIMEDOUT: 'timeout',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
};

/** The kind of connection failure behind `err` (its cause chain and aggregated errors included), if it is one. */
export function connectFailure(err: unknown, depth = 0): ConnectFailure | undefined {
  if (typeof err !== 'object' || err === null || depth > 5) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && CODES[code]) return CODES[code];
  const nested = [
    (err as { cause?: unknown }).cause,
    ...(err instanceof AggregateError ? (err.errors as unknown[]) : []),
  ];
  for (const inner of nested) {
    const found = connectFailure(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** How a user reads the kind. */
export function describeConnectFailure(kind: ConnectFailure): string {
  switch (kind) {
    case 'dns':
      return 'its name does not resolve';
    case 'refused':
      return 'the connection was refused';
    case 'timeout':
      return 'the connection timed out';
    case 'unreachable':
      return 'no route to it';
  }
}
