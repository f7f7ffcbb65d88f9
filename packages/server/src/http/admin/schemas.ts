/**
 * TypeBox schemas of the admin API alone: the audit event, the paging parameters and the path
 * parameters its routes share. Accounts, keys, sessions and tokens are the resources of
 * `../resources.ts`, the same schemas the self-service API answers with and validates against.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { AccountIdParam, KeyIdParam, Millis, SessionIdParam, TokenIdParam } from '../resources.js';

/** An audit event. */
export const AuditEventSchema = Type.Object(
  {
    id: Type.String({ description: 'Time-ordered; the cursor of the next page.' }),
    at: Millis(),
    actor: Type.Object(
      {
        type: Type.Enum(['account', 'key', 'cli', 'system']),
        id: Type.Union([Type.String(), Type.Null()]),
      },
      { additionalProperties: false },
    ),
    action: Type.String(),
    object: Type.Object(
      { type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) },
      { additionalProperties: false },
    ),
    ip: Type.Union([Type.String(), Type.Null()]),
    detail: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  },
  { additionalProperties: false },
);

/** `next`: the cursor of the following page, or null on the last page. */
export const NextCursor = Type.Union([Type.String(), Type.Null()], {
  description: 'Pass as the cursor parameter for the next page; null on the last page.',
});

/** Page size: 1-200, default 50. */
export const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 }));

/** `:accountId`: an account id or email address. */
export const AccountParams = Type.Object({ accountId: AccountIdParam }, { additionalProperties: false });
/** `:keyId`: `kw_kid_…` or the bare id. */
export const KeyParams = Type.Object({ keyId: KeyIdParam }, { additionalProperties: false });
/** `:sessionId`. */
export const SessionParams = Type.Object({ sessionId: SessionIdParam }, { additionalProperties: false });
/** `:tokenId`: the public id part of an access token. */
export const TokenParams = Type.Object({ tokenId: TokenIdParam }, { additionalProperties: false });
