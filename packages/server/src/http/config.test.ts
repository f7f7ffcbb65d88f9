import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const emptyDir = () => mkdtempSync(join(tmpdir(), 'keyward-config-'));

describe('loadConfig', () => {
  it('defaults to loopback port 4000 on SQLite in .keyward, with a loopback public URL', () => {
    const cwd = emptyDir();
    const c = loadConfig({ env: {}, cwd });
    expect(c.port).toBe(4000);
    expect(c.host).toBe('127.0.0.1');
    expect(c.publicUrl).toBe('http://127.0.0.1:4000');
    expect(c.dataDir).toBe(join(cwd, '.keyward'));
    expect(c.databaseUrl).toBeUndefined();
    expect(c.tokenFormat).toBe('opaque');
    expect(c.tokenTtlSeconds).toBe(3600);
    expect(c.registration).toBe(true);
    expect(c.methods).toEqual(['basic', 'api-key', 'oauth2', 'oauth1', 'session', 'signed-session']);
  });

  it('reads the contract environment variables', () => {
    const c = loadConfig({
      cwd: emptyDir(),
      env: {
        PORT: '8080',
        KEYWARD_HOST: '0.0.0.0',
        KEYWARD_PUBLIC_URL: 'https://api.example.com/',
        KEYWARD_DATA_DIR: '/var/lib/keyward',
        KEYWARD_DATABASE_URL: 'postgres://u@db/keyward',
        KEYWARD_MASTER_KEY: 'm',
        KEYWARD_TRUST_PROXY: '10.0.0.0/8, 192.168.1.1',
        KEYWARD_METHODS: 'basic,oauth1',
        KEYWARD_TIMESTAMP_WINDOW: '2m',
        KEYWARD_TOKEN_FORMAT: 'jwt',
        KEYWARD_TOKEN_TTL: '15m',
        KEYWARD_REGISTRATION: 'off',
        KEYWARD_SESSION_IP_POLICY: 'reject',
        KEYWARD_SIGNING_KEY_ROTATION: '7d',
        KEYWARD_METRICS_TOKEN: 'scrape-0123456789abcdefghijklmnopqr',
      },
    });
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      publicUrl: 'https://api.example.com',
      dataDir: '/var/lib/keyward',
      databaseUrl: 'postgres://u@db/keyward',
      masterKey: 'm',
      trustProxy: ['10.0.0.0/8', '192.168.1.1'],
      methods: ['basic', 'oauth1'],
      timestampWindowSeconds: 120,
      tokenFormat: 'jwt',
      tokenTtlSeconds: 900,
      registration: false,
      sessionIpPolicy: 'reject',
      signingKeyRotationSeconds: 7 * 24 * 3600,
      metricsToken: 'scrape-0123456789abcdefghijklmnopqr',
    });
  });

  it('uses localhost for a wildcard bind and https with TLS files', () => {
    const c = loadConfig({
      cwd: '/srv',
      env: { KEYWARD_HOST: '::', PORT: '8443', KEYWARD_TLS_KEY_FILE: 'k.pem', KEYWARD_TLS_CERT_FILE: 'c.pem' },
    });
    expect(c.publicUrl).toBe('https://localhost:8443');
    expect(c.tls).toEqual({ keyFile: '/srv/k.pem', certFile: '/srv/c.pem' });
  });

  it('reads keyward.config.json, with the environment over it', () => {
    const cwd = emptyDir();
    writeFileSync(
      join(cwd, 'keyward.config.json'),
      JSON.stringify({ port: 5000, registration: false, limits: { loginsPerIp: { limit: 3, windowSeconds: 60 } } }),
    );
    const c = loadConfig({ cwd, env: { PORT: '5001' } });
    expect(c.port).toBe(5001);
    expect(c.registration).toBe(false);
    expect(c.limits.loginsPerIp).toEqual({ limit: 3, windowSeconds: 60 });
    expect(c.limits.loginsPerAccount).toEqual({ limit: 5, windowSeconds: 900 });
  });

  it('refuses bad settings with a message that names each one', () => {
    const bad = (env: NodeJS.ProcessEnv) => () => loadConfig({ cwd: emptyDir(), env });
    expect(bad({ KEYWARD_TOKEN_TTL: '2h' })).toThrow(/tokenTtlSeconds/);
    expect(bad({ PORT: 'eighty' })).toThrow(/port/);
    expect(bad({ KEYWARD_METHODS: 'basic,telepathy' })).toThrow(/methods/);
    expect(bad({ KEYWARD_TLS_KEY_FILE: 'k.pem' })).toThrow(/tls\.certFile/);
    expect(bad({ KEYWARD_REGISTRATION: 'maybe' })).toThrow(ConfigError);
    // A metrics token too short to resist guessing, or not a bearer token68; never echoed.
    for (const token of ['guessableSecretValue', 'a metrics token with spaces in it, 0123456789']) {
      const refused = (() => {
        try {
          bad({ KEYWARD_METRICS_TOKEN: token })();
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(refused).toBeInstanceOf(ConfigError);
      expect(String(refused)).toMatch(/metricsToken/);
      expect(String(refused)).not.toContain(token.slice(0, 10));
    }
    const cwd = emptyDir();
    writeFileSync(join(cwd, 'keyward.config.json'), JSON.stringify({ prot: 1 }));
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/prot/);
    expect(() => loadConfig({ cwd, env: { KEYWARD_CONFIG: 'missing.json' } })).toThrow(/cannot read/);
  });
});
