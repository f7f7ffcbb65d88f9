/**
 * `POST /oauth/revoke`: token revocation (RFC 7009). A client revokes tokens issued to its own
 * key; for any other string (another client's token, an unknown or expired one) it gets the same
 * 200 and nothing changes (RFC 7009 §2.2: invalid tokens cause no error; and a prober learns
 * nothing about other clients' tokens). A store failure is 503, never a 200 that did nothing.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { authenticateClient, secretBearingGuard } from './client-auth.js';
import type { OAuthApp, OAuthContext } from './context.js';
import { CLIENT_ENDPOINT_ERRORS, guardStore, NO_STORE } from './errors.js';
import { FORM_TYPE, type OAuthParams } from './form.js';
import { findAccessToken } from './lookup.js';

/** RFC 7009 §2.1 request parameters. */
export const RevocationRequest = Type.Object({
  token: Type.String({ minLength: 1, description: 'The access token to revoke (opaque kw_at_ or JWT)' }),
  token_type_hint: Type.Optional(Type.String({ description: 'Ignored: every token type is searched' })),
  client_id: Type.Optional(Type.String()),
  client_secret: Type.Optional(Type.String()),
});

/** Registers `POST /oauth/revoke`. */
export function revocationRoute(app: OAuthApp, ctx: OAuthContext): void {
  const { kw } = ctx;
  app.post(
    '/oauth/revoke',
    {
      onRequest: secretBearingGuard(kw),
      schema: {
        tags: ['oauth'],
        summary: 'Revoke an access token (RFC 7009)',
        description:
          'Client authentication as at the token endpoint. Revokes the token if it was issued to the calling key; answers 200 with an empty body either way.',
        consumes: [FORM_TYPE],
        body: RevocationRequest,
        response: {
          200: Type.Unknown({ description: 'Empty body: revoked, or nothing of this client to revoke' }),
          ...CLIENT_ENDPOINT_ERRORS,
        },
      },
    },
    async (request, reply) => {
      const params = request.body as OAuthParams;
      const client = await authenticateClient(kw, request, params);
      const found = await findAccessToken(kw, request, params.token as string);
      if (found !== undefined && found.token.keyId === client.rawId && found.token.revokedAt === null) {
        const { id } = found.token;
        // The store publishes the invalidation: the verifier drops its cached copy at once.
        const actor = { type: 'key', id: client.key.id, ip: request.ip } as const;
        await guardStore(kw, request, () => kw.store.tokens.revoke(id, actor));
      }
      // RFC 7009 §2.2: "The content of the response body is ignored by the client".
      return reply.code(200).headers(NO_STORE).send();
    },
  );
}
