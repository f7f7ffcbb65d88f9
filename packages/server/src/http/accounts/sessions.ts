/**
 * A logged-in account's sessions: the current one, logout, the list of live ones, ending the
 * others ("log out my other devices", ASVS 4 §3.3.4) or one of them. Every route needs a
 * session (plain or signed); an API key cannot manage sessions. No response ever holds a
 * session token or secret.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { actorOf, type RouteModule, sessionPrincipal } from '../context.js';
import { ApiError } from '../errors.js';
import { SessionIdParam, SessionSchema, sessionView } from '../resources.js';
import { errorResponses, PROTECTED_ERRORS, SESSION_SECURITY } from '../schemas.js';

const tags = ['sessions'];
const SessionParams = Type.Object({ id: SessionIdParam }, { additionalProperties: false });

/** `GET|DELETE /v1/sessions/current`, `GET|DELETE /v1/sessions`, `DELETE /v1/sessions/:id`. */
export const sessionRoutes: RouteModule = async (app) => {
  const protect = app.keyward.protect();
  const { store, clock } = app.kw;

  app.get(
    '/v1/sessions/current',
    {
      preValidation: protect,
      schema: {
        tags,
        summary: 'The session this request is made with',
        security: SESSION_SECURITY,
        response: { 200: SessionSchema, ...errorResponses(...PROTECTED_ERRORS) },
      },
    },
    async (request) => {
      const { sessionId } = sessionPrincipal(request);
      const session = await store.sessions.get(sessionId);
      // It verified a moment ago; gone now means it ended in between.
      if (session === undefined) throw new ApiError('session_invalid');
      return sessionView(session, clock.now(), sessionId);
    },
  );

  app.delete(
    '/v1/sessions/current',
    {
      preValidation: protect,
      schema: {
        tags,
        summary: 'Log out: end this session',
        security: SESSION_SECURITY,
        description: 'The token (and secret) are refused from now on.',
        response: { 204: Type.Null(), ...errorResponses(...PROTECTED_ERRORS) },
      },
    },
    async (request, reply) => {
      const { sessionId } = sessionPrincipal(request);
      await store.sessions.revoke(sessionId, actorOf(request));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/sessions',
    {
      preValidation: protect,
      schema: {
        tags,
        summary: 'My live sessions',
        security: SESSION_SECURITY,
        description: 'Sessions of this account that have not ended or expired, newest first.',
        response: { 200: Type.Object({ sessions: Type.Array(SessionSchema) }), ...errorResponses(...PROTECTED_ERRORS) },
      },
    },
    async (request) => {
      const { accountId, sessionId } = sessionPrincipal(request);
      const sessions = await store.sessions.listLive(accountId);
      const now = clock.now();
      return { sessions: sessions.map((s) => sessionView(s, now, sessionId)) };
    },
  );

  app.delete(
    '/v1/sessions',
    {
      preValidation: protect,
      schema: {
        tags,
        summary: 'End my other sessions',
        security: SESSION_SECURITY,
        description: 'Ends every live session of this account except the one this request is made with.',
        response: {
          200: Type.Object({ ended: Type.Integer({ minimum: 0, description: 'how many sessions ended' }) }),
          ...errorResponses(...PROTECTED_ERRORS),
        },
      },
    },
    async (request) => {
      const { accountId, sessionId } = sessionPrincipal(request);
      return { ended: await store.sessions.revokeOthers(accountId, sessionId, actorOf(request)) };
    },
  );

  app.delete(
    '/v1/sessions/:id',
    {
      preValidation: protect,
      schema: {
        tags,
        summary: 'End one of my sessions',
        security: SESSION_SECURITY,
        description: "404 `not_found` for a session that is not this account's (whether it exists is not told).",
        params: SessionParams,
        response: { 204: Type.Null(), ...errorResponses(...PROTECTED_ERRORS, 404) },
      },
    },
    async (request, reply) => {
      const { accountId } = sessionPrincipal(request);
      const session = await store.sessions.get(request.params.id);
      if (session === undefined || session.accountId !== accountId) {
        throw new ApiError('not_found', 'no such session');
      }
      await store.sessions.revoke(session.id, actorOf(request));
      return reply.code(204).send(null);
    },
  );
};
