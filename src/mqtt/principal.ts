import type { Principal } from './hooks.js';

/** The principal of a client no hook identified (one shared object: there can be many such clients). */
export const anonymousPrincipal: Principal = Object.freeze({ kind: 'anonymous', id: 'anonymous' });
