export function buildIsCurrent(root: URL, env?: Record<string, string | undefined>): boolean;
