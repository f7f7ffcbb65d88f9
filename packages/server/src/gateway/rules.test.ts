import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES, loadRouteRules, matchRoute, parseRouteRules, RouteRulesError, routeOptions } from './rules.js';

const KNOWN = ['basic', 'api-key', 'oauth1', 'oauth2', 'session', 'signed-session'];

describe('matchRoute', () => {
  const rules = parseRouteRules(
    {
      routes: [
        { prefix: '/', scopes: ['any'] },
        { prefix: '/orders', scopes: ['read'] },
        { prefix: '/orders', methods: ['POST'], scopes: ['write'] },
        { prefix: '/orders/archive/', public: true },
        { prefix: '/health', public: true },
      ],
    },
    'rules.json',
    KNOWN,
  );

  it('takes the longest prefix', () => {
    expect(matchRoute(rules, 'GET', '/orders/7')?.scopes).toEqual(['read']);
    expect(matchRoute(rules, 'GET', '/orders/archive/2020')?.public).toBe(true);
    expect(matchRoute(rules, 'GET', '/invoices')?.scopes).toEqual(['any']);
  });

  it('matches on a path-segment boundary only', () => {
    expect(matchRoute(rules, 'GET', '/orders')?.scopes).toEqual(['read']);
    expect(matchRoute(rules, 'GET', '/ordersx')?.scopes).toEqual(['any']);
    expect(matchRoute(rules, 'GET', '/healthz')?.public).toBeUndefined();
    // A prefix ending in "/" covers what is below it, not the bare segment.
    expect(matchRoute(rules, 'GET', '/orders/archive')?.scopes).toEqual(['read']);
  });

  it('prefers a rule naming the method, case-insensitively', () => {
    expect(matchRoute(rules, 'POST', '/orders/7')?.scopes).toEqual(['write']);
    expect(matchRoute(rules, 'post', '/orders')?.scopes).toEqual(['write']);
    expect(matchRoute(rules, 'DELETE', '/orders/7')?.scopes).toEqual(['read']);
  });

  it('matches nothing when no rule covers the path', () => {
    const narrow = parseRouteRules({ routes: [{ prefix: '/a', methods: ['GET'] }] }, 'r.json', KNOWN);
    expect(narrow.denyUnmatched).toBe(true);
    expect(matchRoute(narrow, 'GET', '/b')).toBeUndefined();
    expect(matchRoute(narrow, 'POST', '/a')).toBeUndefined();
  });

  it('lets every path through to the verifier without a rules file', () => {
    expect(DEFAULT_RULES.denyUnmatched).toBe(false);
    expect(matchRoute(DEFAULT_RULES, 'PATCH', '/anything/at/all')).toEqual({ prefix: '/' });
  });

  it('turns a rule into verifier options', () => {
    expect(routeOptions({ prefix: '/', scopes: ['a'], requireBodyHash: true, auth: ['oauth1'] })).toEqual({
      scopes: ['a'],
      requireBodyHash: true,
      methods: ['oauth1'],
    });
    expect(routeOptions({ prefix: '/' })).toEqual({});
  });
});

describe('rules errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-rules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const fails = (value: unknown) => () => parseRouteRules(value, 'routes.json', KNOWN);

  it('names the file and the field', () => {
    expect(fails({ routes: [{ prefix: 'orders' }] })).toThrow(/^routes\.json: routes\.0\.prefix: /);
    expect(fails({ routes: [{ prefix: '/a', methods: ['get'] }] })).toThrow(/routes\.json: routes\.0\.methods\.0: /);
    expect(fails({ routes: [{ prefix: '/a', scopes: ['a b'] }] })).toThrow(/routes\.0\.scopes\.0: a scope token/);
    expect(fails({ routes: [{ prefix: '/a', extra: 1 }] })).toThrow(/routes\.json: routes\.0: /);
    expect(fails({ routes: [] })).toThrow(/routes\.json: routes: /);
    expect(fails([])).toThrow(/routes\.json: \(root\): /);
    expect(fails({ routes: [{ prefix: '/a', public: true, scopes: ['x'] }] })).toThrow(
      /routes\.0: a public route takes no scopes/,
    );
    expect(fails({ routes: [{ prefix: '/a' }, { prefix: '/b', auth: ['kerberos'] }] })).toThrow(
      'routes.json: routes.1.auth: unknown method "kerberos"',
    );
    expect(fails({ routes: [{ prefix: '/a' }] })).not.toThrow();
  });

  it('reads a file, naming it when it is missing or not JSON', () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ routes: [{ prefix: '/x', auth: ['basic'] }] }));
    expect(loadRouteRules(good, KNOWN).routes).toEqual([{ prefix: '/x', auth: ['basic'] }]);

    const missing = join(dir, 'missing.json');
    expect(() => loadRouteRules(missing, KNOWN)).toThrow(RouteRulesError);
    expect(() => loadRouteRules(missing, KNOWN)).toThrow(`${missing}: cannot be read (ENOENT)`);

    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"routes": [ {"prefix": "/secret-looking-text" ');
    expect(() => loadRouteRules(broken, KNOWN)).toThrow(`${broken}: not valid JSON`);
    expect(() => loadRouteRules(broken, KNOWN)).not.toThrow(/secret-looking-text/);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ routes: [{ prefix: '/x', methods: [] }] }));
    expect(() => loadRouteRules(bad, KNOWN)).toThrow(`${bad}: routes.0.methods:`);
  });
});
