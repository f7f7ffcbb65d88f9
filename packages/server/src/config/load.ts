/**
 * Keyward's configuration: an optional `keyward.config.json`, then environment variables over
 * it, checked as a whole before anything starts. The server and every CLI command read it here,
 * so that they always agree on the store. Every name here is documented in the README and is a
 * contract with the people who deploy Keyward.
 *
 * @packageDocumentation
 */

import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { BUILTIN_METHODS, type BuiltinMethod } from '@keyward/core';
import { z } from 'zod';
import { parseDuration } from '../cli/durations.js';
import { DEFAULT_REALM } from '../verify/verifier.js';

/** Longest access token lifetime the server issues, in seconds (one hour). */
export const MAX_TOKEN_TTL_SECONDS = 3600;

/** The configuration file read when none is named, in the working directory. */
export const DEFAULT_CONFIG_FILE = 'keyward.config.json';

const limit = z.object({
  limit: z.number().int().positive(),
  windowSeconds: z.number().int().positive(),
});

// An HTTP field name (RFC 9110 §5.1 token); the identity headers must be ones a proxy forwards.
const headerName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'an HTTP header name (RFC 9110 §5.1)');

/** The shape of `keyward.config.json` and of the resolved configuration. */
const configSchema = z
  .object({
    port: z.number().int().min(0).max(65535).default(4000),
    host: z.string().min(1).default('127.0.0.1'),
    /** The origin callers sign against and the OAuth issuer; default from host and port. */
    publicUrl: z.url().optional(),
    dataDir: z.string().min(1).default('.keyward'),
    databaseUrl: z.string().optional(),
    /**
     * Redis for the state every instance shares (nonces, limits, the invalidation channel).
     * Unset: on PostgreSQL, the database holds it; on SQLite (one instance), process memory.
     */
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
    masterKey: z.string().optional(),
    pepper: z.string().optional(),
    tls: z
      .object({ keyFile: z.string().min(1), certFile: z.string().min(1) })
      .strict()
      .optional(),
    trustProxy: z.array(z.string().min(1)).default([]),
    methods: z
      .array(z.enum(BUILTIN_METHODS as [BuiltinMethod, ...BuiltinMethod[]]))
      .min(1)
      .default([...BUILTIN_METHODS]),
    timestampWindowSeconds: z.number().int().min(1).max(3600).default(300),
    plaintext: z.boolean().default(false),
    apiKeyHeader: z.boolean().default(false),
    /** The realm of every challenge (RFC 7235 §2.2): printable ASCII, no quote or backslash. */
    realm: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/, 'printable ASCII without quotes or backslashes')
      .default(DEFAULT_REALM),
    tokenFormat: z.enum(['opaque', 'jwt']).default('opaque'),
    tokenTtlSeconds: z.number().int().min(1).max(MAX_TOKEN_TTL_SECONDS).default(MAX_TOKEN_TTL_SECONDS),
    registration: z.boolean().default(true),
    /** Serve the web console at `/console` (and accept its cookie session); true by default. */
    console: z.boolean().default(true),
    sessionIpPolicy: z.enum(['revoke', 'reject', 'allow']).default('revoke'),
    sessionIdleSeconds: z
      .number()
      .int()
      .positive()
      .default(30 * 60),
    sessionAbsoluteSeconds: z
      .number()
      .int()
      .positive()
      .default(12 * 60 * 60),
    limits: z
      .object({
        failuresPerIp: limit.default({ limit: 30, windowSeconds: 60 }),
        failuresPerKey: limit.default({ limit: 10, windowSeconds: 60 }),
        loginsPerAccount: limit.default({ limit: 5, windowSeconds: 15 * 60 }),
        loginsPerIp: limit.default({ limit: 20, windowSeconds: 15 * 60 }),
      })
      .strict()
      .prefault({}),
    /**
     * The delay before every login answer for an account with failed logins in the last
     * `limits.loginsPerAccount` window (from any address): `loginDelayBaseMs` after one, doubling
     * per failure, at most `loginDelayMaxMs`. Never a lock.
     */
    loginDelayBaseMs: z.number().int().min(0).default(250),
    loginDelayMaxMs: z.number().int().min(0).max(30_000).default(4000),
    bodyLimitBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    /**
     * How long a client may take to send a request's headers, from the connection or the end of
     * the previous request; then 408 and the connection is closed (slow-header attacks).
     */
    headersTimeoutSeconds: z.number().int().min(1).max(3600).default(10),
    /** How long a client may take to send a whole request, headers and body. */
    requestTimeoutSeconds: z.number().int().min(1).max(3600).default(30),
    /** How long an idle keep-alive connection stays open after a response. */
    keepAliveTimeoutSeconds: z.number().int().min(1).max(3600).default(5),
    /** Requests served on one connection before it is closed; 0 for no limit. */
    maxRequestsPerSocket: z.number().int().min(0).default(1000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** One log line per request at `info` (`on`), or none (`off`). */
    accessLog: z.enum(['on', 'off']).default('on'),
    usageFlushSeconds: z.number().int().min(0).default(10),
    /**
     * When set, `GET /metrics` answers only `Authorization: Bearer <metricsToken>`. A bearer
     * token68 (RFC 6750 §2.1) of at least 32 characters, so that guessing it is hopeless.
     */
    metricsToken: z
      .string()
      .min(32)
      .regex(/^[A-Za-z0-9\-._~+/]+=*$/, 'must be token68 characters (RFC 6750 §2.1)')
      .optional(),
    /**
     * The route rules file (JSON, see `gateway/rules.ts`) that forward-auth and the gateway
     * share. Unset: every path needs a valid credential of any enabled method.
     */
    routesFile: z.string().min(1).optional(),
    /**
     * The names of the identity headers forward-auth answers with and the gateway adds to the
     * upstream request; the same names arriving from a client are always stripped.
     */
    identityHeaders: z
      .object({
        account: headerName.default('Keyward-Account'),
        key: headerName.default('Keyward-Key'),
        scopes: headerName.default('Keyward-Scopes'),
        method: headerName.default('Keyward-Method'),
        session: headerName.default('Keyward-Session'),
      })
      .strict()
      .prefault({}),
    /**
     * The API `keyward gateway` protects (an http(s) URL, optionally with a path prefix). When
     * set, `keyward serve` also starts the gateway, on `gatewayPort`.
     */
    gatewayUpstream: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).optional(),
    gatewayPort: z.number().int().min(0).max(65535).default(4001),
    /**
     * The origin callers of the gateway sign against (OAuth 1.0a base strings); default from
     * `host` and the port the gateway listens on, as `publicUrl` is for the server.
     */
    gatewayPublicUrl: z.url().optional(),
    /**
     * The largest request body the gateway buffers to verify it (OAuth 1.0a form parameters,
     * body hashes); larger ones are refused with 413. Other bodies stream through, unbounded.
     */
    gatewayBodyLimitBytes: z
      .number()
      .int()
      .positive()
      .default(10 * 1024 * 1024),
    /** How long the upstream may take to answer (and between body chunks); then 504. */
    gatewayUpstreamTimeoutSeconds: z.number().int().min(1).max(3600).default(30),
    /** How long a JWT signing key signs before the next one takes over. */
    signingKeyRotationSeconds: z
      .number()
      .int()
      .min(3600)
      .default(30 * 24 * 3600),
  })
  .strict()
  .refine((c) => c.sessionAbsoluteSeconds >= c.sessionIdleSeconds, {
    message: 'must be at least sessionIdleSeconds',
    path: ['sessionAbsoluteSeconds'],
  })
  // Node refuses a headers timeout longer than the request timeout, which includes it.
  .refine((c) => c.requestTimeoutSeconds >= c.headersTimeoutSeconds, {
    message: 'must be at least headersTimeoutSeconds',
    path: ['requestTimeoutSeconds'],
  });

/** Input accepted in `keyward.config.json` (every field optional). */
export type KeywardConfigInput = z.input<typeof configSchema>;

/** The resolved configuration. Paths (`dataDir`, `tls`, `routesFile`) are absolute. */
export interface KeywardConfig extends Omit<z.output<typeof configSchema>, 'publicUrl'> {
  /** Always set once resolved: the configured value or the loopback default. */
  readonly publicUrl: string;
  /** The configuration file that was read, as an absolute path; unset when there was none. */
  readonly configFile?: string | undefined;
}

/**
 * A configuration that cannot be used. The message names where each bad setting came from:
 * the environment variable (`PORT: …`), or the file and the path within it
 * (`keyward.config.json: limits.loginsPerIp.limit: …`).
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** An environment value read as text: the value for the schema, or why it cannot be one. */
type Read = (text: string) => { value: unknown } | { problem: string };

// Environment variable → config field, with how its text is read. Names are the contract.
const ENV: Record<string, { field: keyof KeywardConfigInput; read: Read }> = {
  PORT: { field: 'port', read: integer },
  KEYWARD_HOST: { field: 'host', read: text },
  KEYWARD_PUBLIC_URL: { field: 'publicUrl', read: text },
  KEYWARD_DATA_DIR: { field: 'dataDir', read: text },
  KEYWARD_DATABASE_URL: { field: 'databaseUrl', read: text },
  KEYWARD_REDIS_URL: { field: 'redisUrl', read: text },
  KEYWARD_MASTER_KEY: { field: 'masterKey', read: text },
  KEYWARD_PEPPER: { field: 'pepper', read: text },
  KEYWARD_TRUST_PROXY: { field: 'trustProxy', read: list },
  KEYWARD_METHODS: { field: 'methods', read: list },
  KEYWARD_TIMESTAMP_WINDOW: { field: 'timestampWindowSeconds', read: seconds },
  KEYWARD_PLAINTEXT: { field: 'plaintext', read: boolean },
  KEYWARD_API_KEY_HEADER: { field: 'apiKeyHeader', read: boolean },
  KEYWARD_REALM: { field: 'realm', read: text },
  KEYWARD_TOKEN_FORMAT: { field: 'tokenFormat', read: text },
  KEYWARD_TOKEN_TTL: { field: 'tokenTtlSeconds', read: seconds },
  KEYWARD_REGISTRATION: { field: 'registration', read: boolean },
  KEYWARD_CONSOLE: { field: 'console', read: boolean },
  KEYWARD_SESSION_IP_POLICY: { field: 'sessionIpPolicy', read: text },
  KEYWARD_SESSION_IDLE: { field: 'sessionIdleSeconds', read: seconds },
  KEYWARD_SESSION_TTL: { field: 'sessionAbsoluteSeconds', read: seconds },
  KEYWARD_BODY_LIMIT: { field: 'bodyLimitBytes', read: integer },
  KEYWARD_HEADERS_TIMEOUT: { field: 'headersTimeoutSeconds', read: seconds },
  KEYWARD_REQUEST_TIMEOUT: { field: 'requestTimeoutSeconds', read: seconds },
  KEYWARD_KEEP_ALIVE_TIMEOUT: { field: 'keepAliveTimeoutSeconds', read: seconds },
  KEYWARD_MAX_REQUESTS_PER_SOCKET: { field: 'maxRequestsPerSocket', read: integer },
  KEYWARD_LOG_LEVEL: { field: 'logLevel', read: text },
  KEYWARD_ACCESS_LOG: { field: 'accessLog', read: text },
  KEYWARD_USAGE_FLUSH: { field: 'usageFlushSeconds', read: seconds },
  KEYWARD_METRICS_TOKEN: { field: 'metricsToken', read: text },
  KEYWARD_SIGNING_KEY_ROTATION: { field: 'signingKeyRotationSeconds', read: seconds },
  KEYWARD_ROUTES: { field: 'routesFile', read: text },
  KEYWARD_GATEWAY_UPSTREAM: { field: 'gatewayUpstream', read: text },
  KEYWARD_GATEWAY_PORT: { field: 'gatewayPort', read: integer },
  KEYWARD_GATEWAY_PUBLIC_URL: { field: 'gatewayPublicUrl', read: text },
  KEYWARD_GATEWAY_BODY_LIMIT: { field: 'gatewayBodyLimitBytes', read: integer },
  KEYWARD_GATEWAY_TIMEOUT: { field: 'gatewayUpstreamTimeoutSeconds', read: seconds },
};

// A setting checked against another (`requestTimeoutSeconds >= headersTimeoutSeconds`) → the
// setting it bounds, blamed when the bound is a default and the other was set.
const UPPER_BOUNDS: Record<string, string> = {
  sessionAbsoluteSeconds: 'sessionIdleSeconds',
  requestTimeoutSeconds: 'headersTimeoutSeconds',
};

/** The TLS files, which the environment sets one at a time. */
const TLS_ENV = { KEYWARD_TLS_KEY_FILE: 'keyFile', KEYWARD_TLS_CERT_FILE: 'certFile' } as const;

function text(value: string): { value: unknown } {
  return { value };
}

function integer(t: string): { value: unknown } | { problem: string } {
  return /^\d+$/.test(t) ? { value: Number(t) } : { problem: 'must be a whole number' };
}

/** Seconds as a number, or a duration (`90s`, `15m`, `1h`). */
function seconds(t: string): { value: unknown } | { problem: string } {
  if (/^\d+$/.test(t)) return { value: Number(t) };
  const ms = parseDuration(t);
  return ms === undefined
    ? { problem: 'must be a number of seconds or a duration such as 90s, 15m, 12h or 30d' }
    : { value: Math.round(ms / 1000) };
}

function list(t: string): { value: unknown } {
  return {
    value: t
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  };
}

function boolean(value: string): { value: unknown } | { problem: string } {
  const t = value.trim().toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(t)) return { value: true };
  if (['0', 'false', 'off', 'no'].includes(t)) return { value: false };
  return { problem: 'must be true or false (or 1/0, on/off, yes/no)' };
}

/**
 * The default public URL: the address the server listens on, with `localhost` for a wildcard
 * bind (callers cannot sign against `0.0.0.0`).
 */
function defaultPublicUrl(host: string, port: number, tls: boolean): string {
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `${tls ? 'https' : 'http'}://${name}:${port}`;
}

/** Where the configuration is read from. */
export interface ConfigSources {
  readonly env?: NodeJS.ProcessEnv | undefined;
  /**
   * The working directory: the default configuration file, a named one given as a relative
   * path, and relative paths from the environment or from `overrides` are resolved against it.
   */
  readonly cwd?: string | undefined;
  /**
   * The configuration file named by the caller (the CLI's `--config`); it wins over
   * `KEYWARD_CONFIG` and, like it, must exist.
   */
  readonly file?: string | undefined;
  /** Settings given in code; the file and the environment are read over them. */
  readonly overrides?: KeywardConfigInput | undefined;
}

/** Where a setting came from, to name it in an error and to resolve its paths. */
type Origin = { readonly env: string } | 'file' | 'code';

/**
 * Reads the configuration file (`file`, else the one `KEYWARD_CONFIG` names, else
 * `keyward.config.json` in `cwd` when it exists), then the environment over it, and checks the
 * result. Relative paths resolve against the folder of the file that set them, and those from
 * the environment or the defaults against the working directory — except the default data
 * directory, which sits beside the configuration file when there is one, where the server
 * started in that folder keeps it. Throws a {@link ConfigError} that names every bad setting
 * and where it was set.
 */
export function loadConfig(sources: ConfigSources = {}): KeywardConfig {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const fromEnv = env.KEYWARD_CONFIG === '' ? undefined : env.KEYWARD_CONFIG;
  const named = sources.file ?? fromEnv;
  // How the user named the file, so that a message about it says what they wrote.
  const namedBy = sources.file !== undefined ? '--config' : 'KEYWARD_CONFIG';
  const label = named ?? DEFAULT_CONFIG_FILE;
  const file = resolve(cwd, label);
  const read = named !== undefined || existsSync(file);

  const merged: Record<string, unknown> = { ...sources.overrides };
  const origins = new Map<string, Origin>(Object.keys(merged).map((field) => [field, 'code']));
  if (read) {
    for (const [field, value] of Object.entries(readConfigFile(file, named === undefined ? label : namedBy))) {
      merged[field] = value;
      origins.set(field, 'file');
    }
  }
  const problems: string[] = [];
  for (const [name, { field, read: readText }] of Object.entries(ENV)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const result = readText(value);
    if ('problem' in result) problems.push(`${name}: ${result.problem}`);
    else merged[field] = result.value;
    origins.set(field, { env: name });
  }
  const tls: Record<string, unknown> = isObject(merged.tls) ? { ...merged.tls } : {};
  for (const [name, part] of Object.entries(TLS_ENV)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    tls[part] = value;
    origins.set(`tls.${part}`, { env: name });
  }
  if (origins.has('tls.keyFile') || origins.has('tls.certFile')) {
    merged.tls = tls;
    for (const [name, part] of Object.entries(TLS_ENV)) {
      if (tls[part] === undefined) {
        const other = name === 'KEYWARD_TLS_KEY_FILE' ? 'KEYWARD_TLS_CERT_FILE' : 'KEYWARD_TLS_KEY_FILE';
        problems.push(`${name}: must be set too when ${other} is (a TLS key needs its certificate)`);
        origins.set(`tls.${part}`, { env: name });
      }
    }
  }

  const result = configSchema.safeParse(merged);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
      const message = issue.code === 'unrecognized_keys' ? 'unknown setting' : issue.message;
      for (const path of paths) {
        const where = path.map(String).join('.');
        // The TLS pair is reported above, once, in terms of the variable to set.
        const origin = origins.get(where) ?? origins.get(String(path[0]));
        if (typeof origin === 'object' && where.startsWith('tls.') && tls[where.slice(4)] === undefined) continue;
        // A session idle timeout set past the default absolute lifetime, or a headers timeout
        // past the default request timeout: name what was set.
        const bound = issue.code === 'custom' && origin === undefined ? UPPER_BOUNDS[where] : undefined;
        const setting = bound === undefined ? undefined : origins.get(bound);
        if (bound !== undefined && setting !== undefined) {
          problems.push(describe(setting, label, bound, `must be at most ${where}`));
          continue;
        }
        problems.push(describe(origin, label, where, message));
      }
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems.join('; '));
  const c = result.data;
  // A path is resolved against the folder of the file that set it, else the working directory.
  const base = (origin: Origin | undefined) => (origin === 'file' ? dirname(file) : cwd);
  const path = (p: string, origin: Origin | undefined) => (isAbsolute(p) ? p : resolve(base(origin), p));
  const dataDirOrigin = origins.get('dataDir') ?? (read ? 'file' : undefined);
  const publicUrl = new URL(c.publicUrl ?? defaultPublicUrl(c.host, c.port, c.tls !== undefined)).origin;
  return {
    ...c,
    publicUrl,
    dataDir: path(c.dataDir, dataDirOrigin),
    ...(c.tls === undefined
      ? {}
      : {
          tls: {
            keyFile: path(c.tls.keyFile, origins.get('tls.keyFile') ?? origins.get('tls')),
            certFile: path(c.tls.certFile, origins.get('tls.certFile') ?? origins.get('tls')),
          },
        }),
    ...(c.routesFile === undefined ? {} : { routesFile: path(c.routesFile, origins.get('routesFile')) }),
    ...(read ? { configFile: file } : {}),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `PORT: …`, `keyward.config.json: limits.loginsPerIp: …`, or `port: …` for a default or code. */
function describe(origin: Origin | undefined, file: string, where: string, message: string): string {
  if (origin === 'file') return `${file}: ${where || '(file)'}: ${message}`;
  if (typeof origin === 'object') return `${origin.env}: ${message}`;
  return `${where || '(config)'}: ${message}`;
}

/** The settings in a configuration file: one JSON object. `label` is how the user named it. */
function readConfigFile(file: string, label: string): Record<string, unknown> {
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : messageOf(error);
    throw new ConfigError(`${label}: cannot read ${file}: ${reason}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch (error) {
    // Only where: V8's message can quote the file's text, and the file may hold the master key.
    const at = /\(line \d+ column \d+\)/.exec(messageOf(error))?.[0];
    throw new ConfigError(`${label}: ${file} is not valid JSON${at === undefined ? '' : ` ${at}`}`);
  }
  if (!isObject(parsed)) throw new ConfigError(`${label}: ${file} must hold a JSON object`);
  return parsed;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
