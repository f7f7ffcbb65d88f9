// The client of the classic "2-legged OAuth with Passport" tutorial, unchanged but for the key:
// node-oauth (`oauth` on npm) signs with HMAC-SHA1, with no request or access token URL (2-legged).
// The API it calls is protected by Keyward instead of passport-http-2legged-oauth.
const oauth = require('oauth');

const key = process.env.KEY_ID; // the Keyward key id is the consumer key
const secret = process.env.SECRET; // its secret is the consumer secret
const api = process.env.API_URL || 'http://127.0.0.1:3000';

const request = new oauth.OAuth(null, null, key, secret, '1.0', null, 'HMAC-SHA1');

request.get(`${api}/orders`, null, null, (err, data) => {
  if (err) {
    console.error('Err', err.statusCode, err.data);
    process.exitCode = 1;
    return;
  }
  console.log('Success', data);
  // A form body is signed when given as an object. Given as a string, node-oauth sends it
  // unsigned and the API answers signature_invalid (see the README's "usual culprits").
  request.post(`${api}/orders`, null, null, { item: 'gadget', qty: '2' }, (postErr, created) => {
    if (postErr) {
      console.error('Err', postErr.statusCode, postErr.data);
      process.exitCode = 1;
      return;
    }
    console.log('Created', created);
  });
});
