// Ready-to-run calls for a key just made, one set per method it may use, with the key filled in.
import type { IssuedKey, KeyMethod } from './api.ts';

export interface Snippet {
  readonly label: string;
  readonly language: 'sh' | 'js' | 'python';
  readonly code: string;
}

/** The curl, SDK and Python (requests-oauthlib) calls of `method` for this key, against `origin`. */
export function snippetsFor(method: KeyMethod, issued: IssuedKey, origin: string): Snippet[] {
  const url = `${origin}/v1/whoami`;
  const { id, secret, token } = issued;
  switch (method) {
    case 'basic':
      return [
        { label: 'curl', language: 'sh', code: `curl -s -u '${id}:${secret}' ${url}` },
        {
          label: 'SDK',
          language: 'js',
          code: `import { createClient } from '@keyward/client';

const api = createClient({
  baseUrl: '${origin}',
  auth: { type: 'basic', keyId: '${id}', secret: '${secret}' },
});
console.log(await api.get('/v1/whoami'));`,
        },
        {
          label: 'Python',
          language: 'python',
          code: `import requests

r = requests.get('${url}', auth=('${id}', '${secret}'))
print(r.status_code, r.json())`,
        },
      ];
    case 'api-key':
      return [
        { label: 'curl', language: 'sh', code: `curl -s -H 'Authorization: Bearer ${token}' ${url}` },
        {
          label: 'SDK',
          language: 'js',
          code: `import { createClient } from '@keyward/client';

const api = createClient({ baseUrl: '${origin}', auth: { type: 'api-key', token: '${token}' } });
console.log(await api.get('/v1/whoami'));`,
        },
        {
          label: 'Python',
          language: 'python',
          code: `import requests

r = requests.get('${url}', headers={'Authorization': 'Bearer ${token}'})
print(r.status_code, r.json())`,
        },
      ];
    case 'oauth2':
      return [
        {
          label: 'curl',
          language: 'sh',
          code: `TOKEN=$(curl -s -u '${id}:${secret}' -d grant_type=client_credentials ${origin}/oauth/token | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')
curl -s -H "Authorization: Bearer $TOKEN" ${url}`,
        },
        {
          label: 'SDK',
          language: 'js',
          code: `import { createClient } from '@keyward/client';

const api = createClient({
  baseUrl: '${origin}',
  auth: { type: 'client-credentials', clientId: '${id}', clientSecret: '${secret}' },
});
console.log(await api.get('/v1/whoami'));`,
        },
        {
          label: 'Python',
          language: 'python',
          code: `from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

session = OAuth2Session(client=BackendApplicationClient(client_id='${id}'))
session.fetch_token('${origin}/oauth/token', client_id='${id}', client_secret='${secret}')
r = session.get('${url}')
print(r.status_code, r.json())`,
        },
      ];
    case 'oauth1':
      return [
        {
          label: 'curl',
          language: 'sh',
          code: `# curl cannot sign: keyward sign prints the signed request as a curl command.
npx keyward sign --key '${id}' --secret '${secret}' ${url} | sh`,
        },
        {
          label: 'SDK',
          language: 'js',
          code: `import { createClient } from '@keyward/client';

const api = createClient({
  baseUrl: '${origin}',
  auth: { type: 'oauth1', consumerKey: '${id}', consumerSecret: '${secret}' },
});
console.log(await api.get('/v1/whoami'));`,
        },
        {
          label: 'Python',
          language: 'python',
          code: `from requests_oauthlib import OAuth1Session

session = OAuth1Session('${id}', client_secret='${secret}', signature_method='HMAC-SHA256')
r = session.get('${url}')
print(r.status_code, r.json())`,
        },
      ];
  }
}
