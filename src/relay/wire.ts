/**
 * The protocol's constants, without its zod schemas (protocol.ts): the
 * running relay validates frames with the JSON Schemas generated from those
 * schemas (server/api.ts), so it imports only this file at run time.
 */
export const PROTOCOL_VERSION = 1;
/** The WebSocket subprotocol both ends speak. Browsers also offer `bearer.<token>` (see relay auth). */
export const SUBPROTOCOL = 'mlt.relay.v1';

/** WebSocket close codes the relay uses (4000–4999 are the application's). */
export const CloseCode = {
  unauthorized: 4401,
  forbidden: 4403,
  /** A newer connection for the same host replaced this one. */
  replaced: 4409,
  badMessage: 4400,
} as const;
