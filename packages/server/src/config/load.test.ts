import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.js';

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
    expect(bad({ KEYWARD_TOKEN_TTL: '2h' })).toThrow(/^KEYWARD_TOKEN_TTL: .*3600/);
    expect(bad({ PORT: 'eighty' })).toThrow(/^PORT: /);
    expect(bad({ KEYWARD_METHODS: 'basic,telepathy' })).toThrow(/^KEYWARD_METHODS: /);
    expect(bad({ KEYWARD_TLS_KEY_FILE: 'k.pem' })).toThrow(/^KEYWARD_TLS_CERT_FILE: must be set too/);
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
      expect(String(refused)).toMatch(/KEYWARD_METRICS_TOKEN: /);
      expect(String(refused)).not.toContain(token.slice(0, 10));
    }
    const cwd = emptyDir();
    writeFileSync(join(cwd, 'keyward.config.json'), JSON.stringify({ prot: 1 }));
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/^keyward\.config\.json: prot: unknown setting$/);
    expect(() => loadConfig({ cwd, env: { KEYWARD_CONFIG: 'missing.json' } })).toThrow(
      /^KEYWARD_CONFIG: cannot read .*missing\.json: no such file$/,
    );
    expect(() => loadConfig({ cwd, env: {}, file: 'missing.json' })).toThrow(/^--config: cannot read /);
  });

  it('names the environment variable a bad value came from', () => {
    const message = (env: NodeJS.ProcessEnv) => {
      try {
        loadConfig({ cwd: emptyDir(), env });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(message({ PORT: 'abc' })).toBe('PORT: must be a whole number');
    expect(message({ PORT: '70000' })).toMatch(/^PORT: .*65535/);
    expect(message({ KEYWARD_REGISTRATION: 'maybe' })).toMatch(/^KEYWARD_REGISTRATION: must be true or false/);
    expect(message({ KEYWARD_TOKEN_TTL: 'soon' })).toMatch(/^KEYWARD_TOKEN_TTL: must be a number of seconds/);
    expect(message({ KEYWARD_METHODS: 'basic,telepathy' })).toMatch(/^KEYWARD_METHODS: /);
    expect(message({ KEYWARD_SESSION_IDLE: '13h' })).toBe(
      'KEYWARD_SESSION_IDLE: must be at most sessionAbsoluteSeconds',
    );
    // Every problem at once, each with its source.
    expect(message({ PORT: 'abc', KEYWARD_LOG_LEVEL: 'loud' }).split('; ')).toEqual([
      'PORT: must be a whole number',
      expect.stringMatching(/^KEYWARD_LOG_LEVEL: /),
    ]);
  });

  it('names the file and the path within it for a bad value there, and the variable set over it', () => {
    const cwd = emptyDir();
    const write = (settings: unknown) => writeFileSync(join(cwd, 'keyward.config.json'), JSON.stringify(settings));
    const message = (env: NodeJS.ProcessEnv = {}, file?: string) => {
      try {
        loadConfig({ cwd, env, file });
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    write({ port: 'http' });
    expect(message()).toMatch(/^keyward\.config\.json: port: /);
    expect(message({ KEYWARD_CONFIG: join(cwd, 'keyward.config.json') })).toMatch(
      new RegExp(`^${join(cwd, 'keyward.config.json')}: port: `),
    );
    // Set over the file by the environment, the bad value is the variable's.
    write({ port: 4000 });
    expect(message({ PORT: 'x' })).toBe('PORT: must be a whole number');
    write({ limits: { loginsPerIp: { limit: 0, windowSeconds: 60 } }, tls: { keyFile: 'k.pem' } });
    expect(message().split('; ')).toEqual([
      expect.stringMatching(/^keyward\.config\.json: tls\.certFile: /),
      expect.stringMatching(/^keyward\.config\.json: limits\.loginsPerIp\.limit: /),
    ]);
    writeFileSync(join(cwd, 'keyward.config.json'), '{"masterKey": "s3cret-value", }');
    const notJson = message();
    expect(notJson).toMatch(/^keyward\.config\.json: .* is not valid JSON/);
    expect(notJson).not.toContain('s3cret');
    writeFileSync(join(cwd, 'other.json'), '[1]');
    expect(message({}, 'other.json')).toMatch(/^--config: .*other\.json must hold a JSON object$/);
  });

  it("resolves the file's relative paths against its folder, the environment's against the working directory", () => {
    const cwd = emptyDir();
    const folder = join(cwd, 'etc');
    mkdirSync(folder);
    writeFileSync(
      join(folder, 'keyward.config.json'),
      JSON.stringify({ dataDir: 'data', tls: { keyFile: 'tls/key.pem', certFile: '/abs/cert.pem' } }),
    );
    const named = loadConfig({ cwd, env: {}, file: 'etc/keyward.config.json' });
    expect(named.configFile).toBe(join(folder, 'keyward.config.json'));
    expect(named.dataDir).toBe(join(folder, 'data'));
    expect(named.tls).toEqual({ keyFile: join(folder, 'tls/key.pem'), certFile: '/abs/cert.pem' });
    const fromEnv = loadConfig({
      cwd,
      env: { KEYWARD_CONFIG: 'etc/keyward.config.json', KEYWARD_DATA_DIR: 'here', KEYWARD_TLS_KEY_FILE: 'k.pem' },
    });
    expect(fromEnv.dataDir).toBe(join(cwd, 'here'));
    expect(fromEnv.tls).toEqual({ keyFile: join(cwd, 'k.pem'), certFile: '/abs/cert.pem' });
    // --config wins over KEYWARD_CONFIG.
    writeFileSync(join(cwd, 'keyward.config.json'), JSON.stringify({ port: 5000 }));
    expect(
      loadConfig({ cwd, env: { KEYWARD_CONFIG: 'etc/keyward.config.json' }, file: 'keyward.config.json' }).port,
    ).toBe(5000);
  });

  it('keeps the default data directory beside the configuration file, or in the working directory without one', () => {
    const cwd = emptyDir();
    const folder = join(cwd, 'srv');
    mkdirSync(folder);
    writeFileSync(join(folder, 'keyward.config.json'), JSON.stringify({ port: 4100 }));
    expect(loadConfig({ cwd, env: { KEYWARD_CONFIG: join(folder, 'keyward.config.json') } }).dataDir).toBe(
      join(folder, '.keyward'),
    );
    expect(loadConfig({ cwd: folder, env: {} })).toMatchObject({
      dataDir: join(folder, '.keyward'),
      configFile: join(folder, 'keyward.config.json'),
    });
    const none = loadConfig({ cwd, env: {} });
    expect(none.dataDir).toBe(join(cwd, '.keyward'));
    expect(none).not.toHaveProperty('configFile');
  });
});
