// A throwaway TLS certificate for 127.0.0.1, made by openssl, for the suites that serve HTTPS
// (the server, nginx, Caddy) on loopback.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A self-signed P-256 certificate for IP 127.0.0.1 in `dir` (cert.pem, key.pem), valid a day. */
export function selfSignedCertificate(dir: string): { keyFile: string; certFile: string; cert: string } {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'pipe' },
  );
  return { keyFile, certFile, cert: readFileSync(certFile, 'utf8') };
}
